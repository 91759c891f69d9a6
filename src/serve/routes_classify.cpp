// POST /v1/predict: texts (or rows by the model's columns) -> labels; with --asr-model, audio ->
// transcript -> label. See include/nlpc/serve/server.h.
#include <algorithm>
#include <chrono>

#include "nlpc/core/error.h"
#include "nlpc/tasks/classification/classifier.h"
#include "service.h"

namespace nlpc::serve {
namespace {
using Clock = std::chrono::steady_clock;

struct PredictRequest {
  std::string model;
  std::vector<std::string> texts;
  std::vector<std::string> pairs;
  std::vector<std::string> transcripts;  // audio requests
  int top_k = 0;
  bool all_probs = false;  // "all_probs": true adds every label's probability (as predict --all-probs)
};

std::vector<std::string> string_array(const json& body, const char* key, const ServeOptions& o) {
  const json& a = body.at(key);
  if (!a.is_array())
    throw HttpError{400, "invalid_request", std::string("\"") + key + "\" must be an array of strings"};
  if (a.size() > static_cast<size_t>(o.max_texts))
    throw HttpError{413, "too_many_texts",
                    std::string("\"") + key + "\" has " + std::to_string(a.size()) + " items; at most " +
                        std::to_string(o.max_texts) + " per request (split it, or raise --max-texts)"};
  std::vector<std::string> out;
  out.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_string())
      throw HttpError{400, "invalid_request",
                      std::string("\"") + key + "\"[" + std::to_string(i) + "] must be a string, got " +
                          a[i].type_name()};
    out.push_back(a[i].get<std::string>());
    if (out.back().size() > o.max_text_bytes)
      throw HttpError{413, "text_too_long",
                      std::string("\"") + key + "\"[" + std::to_string(i) + "] has " +
                          std::to_string(out.back().size()) + " bytes; at most " +
                          std::to_string(o.max_text_bytes)};
  }
  return out;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// "rows": [{column: value, ...}] -> texts (and pairs) the way training read them.
void parse_rows(const json& body, const ServeOptions& o, const RowColumns& cols, PredictRequest& r) {
  const json& a = body.at("rows");
  if (!a.is_array()) throw HttpError{400, "invalid_request", "\"rows\" must be an array of objects"};
  if (a.size() > static_cast<size_t>(o.max_texts))
    throw HttpError{413, "too_many_texts",
                    "\"rows\" has " + std::to_string(a.size()) + " items; at most " +
                        std::to_string(o.max_texts) + " per request"};
  auto cell = [&](size_t i, const std::string& col) {
    const json& row = a[i];
    if (!row.is_object())
      throw HttpError{400, "invalid_request", "\"rows\"[" + std::to_string(i) + "] must be an object"};
    if (!row.contains(col) || !row[col].is_string())
      throw HttpError{422, "missing_column",
                      "\"rows\"[" + std::to_string(i) + "] needs a string \"" + col + "\" (the model reads " +
                          joined(cols.text) + (cols.pair.empty() ? "" : " and " + cols.pair) + ")"};
    return row[col].get<std::string>();
  };
  for (size_t i = 0; i < a.size(); ++i) {
    std::string text;
    for (size_t c = 0; c < cols.text.size(); ++c) text += (c ? "\n" : "") + cell(i, cols.text[c]);
    if (text.size() > o.max_text_bytes)
      throw HttpError{413, "text_too_long",
                      "\"rows\"[" + std::to_string(i) + "] has " + std::to_string(text.size()) +
                          " bytes of text; at most " + std::to_string(o.max_text_bytes)};
    r.texts.push_back(std::move(text));
    if (!cols.pair.empty()) r.pairs.push_back(cell(i, cols.pair));
  }
}

// The fields of a text request (the audio ones are read by the caller).
void parse_text_fields(const json& body, const ServeOptions& o, const RowColumns& cols, PredictRequest& r) {
  if (body.contains("rows")) {
    if (body.contains("texts") || body.contains("pairs"))
      throw HttpError{400, "invalid_request", "send either \"rows\" or \"texts\" (with \"pairs\"), not both"};
    parse_rows(body, o, cols, r);
    if (r.texts.empty()) throw HttpError{422, "empty_texts", "\"rows\" is empty; send at least one row"};
  } else if (!body.contains("texts")) {
    throw HttpError{
        400, "invalid_request",
        "missing field \"texts\" (array of strings), \"rows\" (array of objects) or \"audio\" (base64)"};
  } else {
    r.texts = string_array(body, "texts", o);
  }
  if (r.texts.empty()) throw HttpError{422, "empty_texts", "\"texts\" is empty; send at least one text"};
  if (!body.contains("rows") && body.contains("pairs") && !body["pairs"].is_null()) {
    r.pairs = string_array(body, "pairs", o);
    if (r.pairs.size() != r.texts.size())
      throw HttpError{422, "pairs_mismatch",
                      "\"pairs\" has " + std::to_string(r.pairs.size()) + " items but \"texts\" has " +
                          std::to_string(r.texts.size())};
  }
}

json prediction_json(const ServedModel& m, const float* p, int top_k, bool all_probs) {
  const auto& labels = m.pipe.classifier->labels();
  const size_t k = labels.size();
  std::vector<size_t> order(k);
  for (size_t i = 0; i < k; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  json out{{"label", labels[order[0]]}, {"score", p[order[0]]}};
  if (all_probs) {
    json probs = json::object();
    for (size_t i = 0; i < k; ++i) probs[labels[i]] = p[i];
    out["probabilities"] = probs;
  }
  if (m.pipe.classifier->multilabel()) {
    json chosen = json::array();
    for (size_t i : order)
      if (p[i] >= (i < m.thresholds.size() ? m.thresholds[i] : 0.5f)) chosen.push_back(labels[i]);
    out["labels"] = chosen;
  }
  if (top_k > 0) {
    json top = json::array();
    for (size_t i = 0; i < std::min(static_cast<size_t>(top_k), k); ++i)
      top.push_back({{"label", labels[order[i]]}, {"score", p[order[i]]}});
    out["top_k"] = top;
  }
  return out;
}

}  // namespace

void Service::install_classify(httplib::Server& svr) {
  svr.Post("/v1/predict", [this](const httplib::Request& req, httplib::Response& res) {
    const auto start = Clock::now();
    try {
      // Audio: a multipart upload, or JSON with "audio"; both need --asr-model.
      json body = json::object();
      AudioUpload audio;
      bool has_audio = false;
      if (req.is_multipart_form_data()) {
        body = read_multipart_audio(req, audio);  // other parts are fields, checked below as JSON's are
        has_audio = true;
      } else {
        body = parse_json_object(req.body);
        if (body.contains("audio")) {
          if (!body["audio"].is_string())
            throw HttpError{400, "invalid_request", "\"audio\" must be a base64 string"};
          audio.bytes = decode_base64_field(body["audio"].get<std::string>(), "audio");
          if (body.contains("filename") && body["filename"].is_string())
            audio.filename = body["filename"].get<std::string>();
          has_audio = true;
        }
      }
      for (const auto& item : body.items()) {
        static const std::vector<std::string> known = {"texts", "pairs", "rows",     "top_k",   "all_probs",
                                                       "model", "audio", "filename", "language"};
        if (std::find(known.begin(), known.end(), item.key()) == known.end())
          throw HttpError{400, "invalid_request",
                          "unknown field \"" + item.key() +
                              "\"; expected \"texts\", \"pairs\", \"rows\", \"top_k\", "
                              "\"all_probs\", \"model\" or \"audio\""};
      }
      auto text_field = [&](const char* k, const std::string& dflt) {
        if (!body.contains(k) || body[k].is_null()) return dflt;
        if (!body[k].is_string())
          throw HttpError{400, "invalid_request", std::string("\"") + k + "\" must be a string"};
        return body[k].get<std::string>();
      };
      ServedModel& m = find(text_field("model", ""), "classifier");
      PredictRequest r;
      const Fields fields{body};  // multipart values are strings; JSON ones may be too
      if (fields.has("all_probs")) r.all_probs = fields.boolean("all_probs");
      if (fields.has("top_k")) r.top_k = static_cast<int>(fields.integer("top_k", 1, 1000000));
      if (has_audio) {
        if (asr_ == nullptr)
          throw HttpError{400, "no_asr_model",
                          "audio needs a speech recognizer: start the server with --asr-model DIR"};
        if (body.contains("texts") || body.contains("rows"))
          throw HttpError{400, "invalid_request", "send either audio or \"texts\"/\"rows\", not both"};
        TranscribeOptions how;
        how.language = text_field("language", opts_.asr_language);
        io::Transcript t = transcribe(*asr_, decode_upload(audio, opts_), audio.filename, how);
        r.transcripts.push_back(t.text);
        r.texts.push_back(t.text);
      } else {
        parse_text_fields(body, opts_, m.columns, r);
      }
      auto job = std::make_shared<BatchJob>();
      job->texts = std::move(r.texts);
      job->pairs = std::move(r.pairs);
      eval::Matrix probs = await<eval::Matrix>(*m.batcher, job, opts_.timeout_ms);
      json preds = json::array();
      for (int64_t i = 0; i < probs.rows; ++i) {
        json p = prediction_json(m, probs.row(i), r.top_k, r.all_probs);
        if (!r.transcripts.empty()) p["transcript"] = r.transcripts[static_cast<size_t>(i)];
        preds.push_back(std::move(p));
      }
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      send_json(res, 200, json{{"predictions", std::move(preds)}, {"model", m.name}, {"elapsed_ms", ms}});
    } catch (...) {
      send_current_exception(res);
    }
  });
}

}  // namespace nlpc::serve
