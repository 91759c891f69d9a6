// POST /v1/summarize (T5), POST /v1/transcribe and OpenAI's POST /v1/audio/transcriptions and
// /v1/audio/translations (Whisper); uploaded audio; the summarizer's and transcriber's batch
// functions. See include/nlpc/serve/server.h.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "nlpc/audio/audio.h"
#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/strings.h"
#include "nlpc/models/whisper/decode.h"
#include "nlpc/text/loader_util.h"
#include "service.h"

namespace nlpc::serve {
namespace {
using Clock = std::chrono::steady_clock;

double elapsed_ms(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}


// Multipart: "file" is the audio, every other part a field. JSON: "audio" (base64) and fields.
Fields read_audio_request(const httplib::Request& req, AudioUpload& audio,
                          const std::vector<std::string>& allowed) {
  Fields f;
  if (req.is_multipart_form_data()) {
    f.values = read_multipart_audio(req, audio);
  } else {
    json body = parse_json_object(req.body);
    if (!body.contains("audio") || !body["audio"].is_string())
      throw HttpError{400, "invalid_request",
                      "send the audio as a multipart \"file\" part, or as base64 in a JSON \"audio\" field"};
    audio.bytes = decode_base64_field(body["audio"].get<std::string>(), "audio");
    if (body.contains("filename") && body["filename"].is_string())
      audio.filename = body["filename"].get<std::string>();
    body.erase("audio");
    body.erase("filename");
    f.values = std::move(body);
  }
  for (const auto& item : f.values.items()) {
    bool known = false;
    for (const auto& a : allowed)
      known = known || item.key() == a || item.key() + "[]" == a || item.key() == a + "[]";
    if (!known) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "\"" : ", \"") + a + "\"";
      throw HttpError{400, "invalid_request", "unknown field \"" + item.key() + "\"; expected " + list};
    }
  }
  return f;
}

// openai/whisper's temperature fallback: from `t` up to 1.0 in steps of 0.2 (t = 0: 0, 0.2, ..., 1).
std::vector<double> temperature_ladder(double t) {
  std::vector<double> out;
  for (double v = t; v <= 1.0 + 1e-9; v += 0.2) out.push_back(std::round(v * 10) / 10);
  if (out.empty()) out.push_back(t);
  return out;
}

// The decoding fields shared by /v1/transcribe and the OpenAI endpoints.
TranscribeOptions decoding_options(const Fields& f) {
  TranscribeOptions how;
  if (f.has("language")) how.language = f.text("language");
  if (f.has("task")) how.task = f.text("task");
  // beam width: "num_beams" as everywhere in nlpc, "beam_size" as openai/whisper and the demo page
  if (f.has("num_beams"))
    how.beam_size = static_cast<int>(f.integer("num_beams", 0, 64));
  else if (f.has("beam_size"))
    how.beam_size = static_cast<int>(f.integer("beam_size", 0, 64));
  if (f.has("timestamps")) how.timestamps = f.boolean("timestamps");
  if (f.has("temperature")) how.temperatures = temperature_ladder(f.number("temperature", 0, 1));
  if (f.has("prompt")) how.initial_prompt = f.text("prompt");
  if (f.has("max_new_tokens")) how.max_new_tokens = static_cast<int>(f.integer("max_new_tokens", 0, 448));
  return how;
}

json segments_json(const io::Transcript& t, bool verbose) {
  json segs = json::array();
  for (size_t i = 0; i < t.segments.size(); ++i) {
    const auto& s = t.segments[i];
    json j{{"id", i}, {"start", s.start}, {"end", s.end}, {"text", s.text}};
    if (verbose) {
      j.update({{"seek", static_cast<int64_t>(std::lround(s.start * 100))},
                {"tokens", s.tokens},
                {"temperature", s.temperature},
                {"avg_logprob", s.avg_logprob},
                {"compression_ratio", s.compression_ratio},
                {"no_speech_prob", s.no_speech_prob}});
    }
    segs.push_back(std::move(j));
  }
  return segs;
}

std::string summarize_key(const models::GenerationOptions& g) {
  return std::to_string(g.num_beams) + "|" + std::to_string(g.max_new_tokens) + "|" +
         std::to_string(g.max_length) + "|" + std::to_string(g.min_length) + "|" +
         std::to_string(g.no_repeat_ngram_size) + "|" + std::to_string(g.length_penalty) + "|" +
         std::to_string(g.do_sample) + "|" + std::to_string(g.temperature) + "|" + std::to_string(g.top_k) +
         "|" + std::to_string(g.top_p) + "|" + std::to_string(g.seed) + "|" +
         std::to_string(static_cast<int>(g.early_stopping));
}

}  // namespace

std::string decode_base64_field(const std::string& value, const std::string& field) {
  try {
    return text::base64_decode(value, "\"" + field + "\"");
  } catch (const InputError& e) {
    throw HttpError{400, "invalid_base64", e.what()};
  }
}

json read_multipart_audio(const httplib::Request& req, AudioUpload& audio) {
  if (!req.has_file("file"))
    throw HttpError{400, "invalid_request", "missing the multipart \"file\" part (the audio)"};
  const auto file = req.get_file_value("file");
  audio.bytes = file.content;
  if (!file.filename.empty()) audio.filename = file.filename;
  json fields = json::object();
  for (const auto& part : req.files)
    if (part.first != "file") fields[part.first] = part.second.content;
  return fields;
}

std::vector<float> decode_upload(const AudioUpload& a, const ServeOptions& o) {
  if (a.bytes.empty()) throw HttpError{422, "invalid_audio", a.filename + ": the audio is empty"};
  // libsndfile reads files: the upload goes to a private temporary file, removed at once.
  char path[] = "/tmp/nlpc-upload-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) throw RuntimeError("cannot create a temporary file for an upload in /tmp");
  std::vector<float> samples;
  try {
    size_t done = 0;
    while (done < a.bytes.size()) {
      const ssize_t n = ::write(fd, a.bytes.data() + done, a.bytes.size() - done);
      if (n <= 0) throw RuntimeError("cannot write an upload to " + std::string(path));
      done += static_cast<size_t>(n);
    }
    ::close(fd);
    audio::AudioOptions ao;
    ao.format = "file";  // never raw: the name is a temporary one
    samples = audio::load_audio(path, ao);
  } catch (const InputError& e) {
    ::unlink(path);
    std::string msg = e.what();
    for (size_t p = msg.find(path); p != std::string::npos; p = msg.find(path))
      msg.replace(p, std::strlen(path), a.filename);
    throw HttpError{422, "invalid_audio", msg};
  } catch (...) {
    ::unlink(path);
    throw;
  }
  ::unlink(path);
  const double seconds = static_cast<double>(samples.size()) / audio::kWhisperSampleRate;
  if (seconds > o.max_audio_seconds) {
    char msg[160];
    std::snprintf(msg, sizeof msg, "%.1f s of audio; at most %.1f s per request (--max-audio-seconds)",
                  seconds, o.max_audio_seconds);
    throw HttpError{413, "audio_too_long", a.filename + ": " + msg};
  }
  return samples;
}

BatchFn summarizer_batches(Summarizer& model, size_t batch_size) {
  return [&model, batch_size](const std::vector<std::shared_ptr<Job>>& jobs) {
    std::vector<std::string> texts;
    for (const auto& j : jobs) {
      const auto& s = static_cast<const SummarizeJob&>(*j);
      texts.insert(texts.end(), s.texts.begin(), s.texts.end());
    }
    // every job of a batch has the same options (merge key)
    const auto summaries =
        model.summarize(texts, static_cast<const SummarizeJob&>(*jobs.front()).generation, batch_size);
    size_t at = 0;
    for (const auto& j : jobs) {
      auto& s = static_cast<SummarizeJob&>(*j);
      std::vector<std::string> mine(summaries.begin() + static_cast<std::ptrdiff_t>(at),
                                    summaries.begin() + static_cast<std::ptrdiff_t>(at + s.texts.size()));
      at += s.texts.size();
      s.result.set_value(std::move(mine));
    }
  };
}

BatchFn transcriber_batches(WhisperTranscriber& model) {
  return [&model](const std::vector<std::shared_ptr<Job>>& jobs) {
    std::vector<WhisperTranscriber::Request> requests;
    for (const auto& j : jobs) {
      const auto& t = static_cast<const TranscribeJob&>(*j);
      requests.push_back({&t.samples, t.name, t.how});
    }
    auto transcripts = model.transcribe_many(requests);
    for (size_t i = 0; i < jobs.size(); ++i)
      static_cast<TranscribeJob&>(*jobs[i]).result.set_value(std::move(transcripts[i]));
  };
}

io::Transcript Service::transcribe(ServedModel& m, std::vector<float> samples, const std::string& name,
                                   const TranscribeOptions& how) {
  auto job = std::make_shared<TranscribeJob>();
  job->samples = std::move(samples);
  job->name = name;
  job->how = how;
  job->how.progress = false;
  return await<io::Transcript>(*m.batcher, job, opts_.timeout_ms);
}

void Service::install_generate(httplib::Server& svr) {
  svr.Post("/v1/summarize", [this](const httplib::Request& req, httplib::Response& res) {
    const auto start = Clock::now();
    try {
      json body = parse_json_object(req.body);
      Fields f{body};
      static const std::vector<std::string> known = {"texts",          "model",      "num_beams",
                                                     "max_new_tokens", "min_length", "no_repeat_ngram_size",
                                                     "length_penalty", "do_sample",  "temperature",
                                                     "top_k",          "top_p",      "seed"};
      for (const auto& item : body.items())
        if (std::find(known.begin(), known.end(), item.key()) == known.end())
          throw HttpError{400, "invalid_request",
                          "unknown field \"" + item.key() + "\" in a /v1/summarize request"};
      ServedModel& m = find(f.text("model"), "summarizer");
      if (!body.contains("texts") || !body["texts"].is_array())
        throw HttpError{400, "invalid_request", "missing field \"texts\" (array of strings)"};
      auto job = std::make_shared<SummarizeJob>();
      const json& texts = body["texts"];
      if (texts.empty()) throw HttpError{422, "empty_texts", "\"texts\" is empty; send at least one text"};
      if (texts.size() > static_cast<size_t>(opts_.max_texts))
        throw HttpError{413, "too_many_texts",
                        "\"texts\" has " + std::to_string(texts.size()) + " items; at most " +
                            std::to_string(opts_.max_texts) + " per request (--max-texts)"};
      for (size_t i = 0; i < texts.size(); ++i) {
        if (!texts[i].is_string())
          throw HttpError{400, "invalid_request", "\"texts\"[" + std::to_string(i) + "] must be a string"};
        job->texts.push_back(texts[i].get<std::string>());
        if (job->texts.back().size() > opts_.max_text_bytes)
          throw HttpError{413, "text_too_long",
                          "\"texts\"[" + std::to_string(i) + "] has " +
                              std::to_string(job->texts.back().size()) + " bytes; at most " +
                              std::to_string(opts_.max_text_bytes)};
      }
      GenerationOverrides o;
      if (f.has("num_beams")) o.num_beams = f.integer("num_beams", 1, 64);
      if (f.has("max_new_tokens")) o.max_new_tokens = f.integer("max_new_tokens", 1, 4096);
      if (f.has("min_length")) o.min_length = f.integer("min_length", 0, 4096);
      if (f.has("no_repeat_ngram_size")) o.no_repeat_ngram_size = f.integer("no_repeat_ngram_size", 0, 64);
      if (f.has("length_penalty")) o.length_penalty = f.number("length_penalty", -100, 100);
      if (f.has("do_sample")) o.do_sample = f.boolean("do_sample");
      if (f.has("temperature")) o.temperature = f.number("temperature", 0, 100);
      if (f.has("top_k")) o.top_k = f.integer("top_k", 0, 1 << 20);
      if (f.has("top_p")) o.top_p = f.number("top_p", 0, 1);
      if (f.has("seed")) o.seed = static_cast<uint64_t>(f.integer("seed", 0, int64_t(1) << 53));
      job->generation = m.pipe.summarizer->generation();
      apply_overrides(job->generation, o);  // UsageError (422) for inconsistent options
      job->key = summarize_key(job->generation);
      auto summaries = await<std::vector<std::string>>(*m.batcher, job, opts_.timeout_ms);
      send_json(
          res, 200,
          json{{"summaries", std::move(summaries)}, {"model", m.name}, {"elapsed_ms", elapsed_ms(start)}});
    } catch (...) {
      send_current_exception(res);
    }
  });

  svr.Post("/v1/transcribe", [this](const httplib::Request& req, httplib::Response& res) {
    const auto start = Clock::now();
    try {
      AudioUpload audio;
      Fields f = read_audio_request(req, audio,
                                    {"model", "language", "task", "num_beams", "beam_size", "timestamps",
                                     "temperature", "prompt", "max_new_tokens"});
      ServedModel& m = find(f.text("model"), "transcriber");
      TranscribeOptions how = decoding_options(f);
      std::vector<float> samples = decode_upload(audio, opts_);
      const double duration = static_cast<double>(samples.size()) / audio::kWhisperSampleRate;
      io::Transcript t = transcribe(m, std::move(samples), audio.filename, how);
      send_json(res, 200,
                json{{"text", t.text},
                     {"language", t.language},
                     {"duration", duration},
                     {"segments", segments_json(t, true)},
                     {"model", m.name},
                     {"elapsed_ms", elapsed_ms(start)}});
    } catch (...) {
      send_current_exception(res);
    }
  });

  // OpenAI's audio API (and whisper.cpp's server): "model" names a loaded Whisper model; any other
  // name ("whisper-1") is served by the only one when a single Whisper model is loaded.
  auto openai = [this](const std::string& task) {
    return [this, task](const httplib::Request& req, httplib::Response& res) {
      try {
        AudioUpload audio;
        Fields f = read_audio_request(
            req, audio,
            {"model", "language", "prompt", "temperature", "response_format", "timestamp_granularities[]"});
        const std::string name = f.text("model");
        bool named = false;
        size_t whispers = 0;
        for (const auto& x : models()) {
          named = named || x->name == name;
          whispers += x->kind == "transcriber";
        }
        ServedModel& m = find(named || whispers != 1 ? name : "", "transcriber");
        const std::string format = f.has("response_format") ? f.text("response_format") : "json";
        if (format != "json" && format != "text" && format != "srt" && format != "vtt" &&
            format != "verbose_json")
          throw HttpError{400, "invalid_request",
                          "\"response_format\" must be json, text, srt, vtt or verbose_json"};
        if (f.text("timestamp_granularities[]").find("word") != std::string::npos)
          throw HttpError{400, "invalid_request", "word-level timestamps are not implemented; use segment"};
        Fields d;
        for (const char* k : {"language", "prompt", "temperature"})
          if (f.has(k)) d.values[k] = f.text(k);
        TranscribeOptions how = decoding_options(d);
        how.task = task;
        std::vector<float> samples = decode_upload(audio, opts_);
        const double duration = static_cast<double>(samples.size()) / audio::kWhisperSampleRate;
        io::Transcript t = transcribe(m, std::move(samples), audio.filename, how);
        if (format == "text") {
          res.set_content(t.text + "\n", "text/plain; charset=utf-8");
        } else if (format == "srt" || format == "vtt") {
          res.set_content(io::format_transcript(t, format), format == "srt"
                                                                ? "application/x-subrip; charset=utf-8"
                                                                : "text/vtt; charset=utf-8");
        } else if (format == "json") {
          send_json(res, 200, json{{"text", t.text}});
        } else {
          send_json(res, 200,
                    json{{"task", task == "translate" ? "translate" : "transcribe"},
                         {"language", models::language_name(t.language)},
                         {"duration", duration},
                         {"text", t.text},
                         {"segments", segments_json(t, true)}});
        }
      } catch (...) {
        send_current_exception(res);
      }
    };
  };
  svr.Post("/v1/audio/transcriptions", openai("transcribe"));
  svr.Post("/v1/audio/translations", openai("translate"));
}

}  // namespace nlpc::serve
