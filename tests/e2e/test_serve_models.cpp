// End-to-end: `nlpc serve` with several model kinds at once (n-gram classifier, T5 summarizer,
// Whisper in front of the classifier): /v1/models, /v1/summarize, /v1/transcribe, OpenAI's
// /v1/audio/transcriptions, audio through /v1/predict, their errors, batching, the demo page.
#include <catch2/catch.hpp>

#include <cstdio>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "nlpc/audio/audio.h"
#include "serve_process.h"
#include "tiny_models.h"

using nlohmann::json;
using nlpc::test::fixture;
using nlpc::test::read_file;
using nlpc::test::run_nlpc;
using nlpc::test::TempDir;
using nlpc::test::write_file;

namespace {

const TempDir& whisper_dir() {
  static TempDir d;
  return d;
}
const std::string& whisper_model() {
  static const std::string m = nlpc::test::make_tiny_whisper(whisper_dir());
  return m;
}

// clf: the n-gram baseline; sum: the tiny T5; asr: the tiny Whisper, also in front of clf.
nlpc::test::ServeProcess& server() {
  static nlpc::test::ServeProcess s({"--model", "clf=" + nlpc::test::trained_baseline_model(), "--model",
                                     "sum=" + nlpc::test::trained_summarizer().model(), "--asr-model",
                                     "asr=" + whisper_model(), "--max-audio-seconds", "20", "--batch-wait-ms", "100"});
  return s;
}

const std::string kBoundary = "nlpc-test-boundary-7MA4YWxkTrZu0gW";

// A multipart/form-data body as curl -F writes it: the "file" part first, then the fields.
std::string multipart(const std::string& filename, const std::string& bytes,
                      const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string b = "--" + kBoundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename +
                  "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + bytes + "\r\n";
  for (const auto& [k, v] : fields)
    b += "--" + kBoundary + "\r\nContent-Disposition: form-data; name=\"" + k + "\"\r\n\r\n" + v + "\r\n";
  return b + "--" + kBoundary + "--\r\n";
}

httplib::Result post_multipart(httplib::Client& c, const std::string& path, const std::string& body) {
  return c.Post(path, body, "multipart/form-data; boundary=" + kBoundary);
}

json expect_json(const httplib::Result& r, int status) {
  REQUIRE(r);
  INFO(r->body);
  CHECK(r->status == status);
  return json::parse(r->body);
}

void check_error(const httplib::Result& r, int status, const std::string& code) {
  json j = expect_json(r, status);
  REQUIRE(j.contains("error"));
  CHECK(j["error"]["code"] == code);
  CHECK(!j["error"]["message"].get<std::string>().empty());
}

std::string clip(int i) { return fixture("audio/digits/clip" + std::to_string(i) + ".wav"); }

std::string base64(const std::string& in) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], a[v & 63]};
  }
  if (i + 1 == in.size()) {
    const unsigned v = (unsigned char)in[i] << 16;
    out += {a[v >> 18], a[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], '='};
  }
  return out;
}

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

}  // namespace

TEST_CASE("serve models: /v1/models lists every model with its kind; the demo page has a tab per kind",
          "[serve][models]") {
  auto c = server().client();
  json list = expect_json(c.Get("/v1/models"), 200);
  CHECK(list["object"] == "list");
  std::map<std::string, json> by_id;
  for (const auto& m : list["data"]) by_id[m["id"].get<std::string>()] = m;
  REQUIRE(by_id.size() == 4);
  CHECK(by_id["clf"]["kind"] == "classifier");
  CHECK(by_id["clf"]["model_type"] == "nlpc-ngram");
  CHECK(by_id["clf"]["labels"].size() >= 2);
  CHECK(by_id["sum"]["kind"] == "summarizer");
  CHECK(by_id["sum"]["model_type"] == "t5");
  CHECK(by_id["sum"]["generation"].contains("num_beams"));
  CHECK(by_id["asr"]["kind"] == "transcriber");
  CHECK(by_id["asr"]["model_type"] == "whisper");
  CHECK(by_id["asr"]["languages"].size() > 50);  // whisper-tiny's multilingual vocabulary
  CHECK(by_id["clf:speech"]["kind"] == "speech_classifier");
  CHECK(by_id["clf:speech"]["asr_model"] == "asr");
  for (const auto& [id, m] : by_id) {
    CHECK(m["object"] == "model");
    CHECK(m["parameters"].get<int64_t>() > 0);
  }
  CHECK_THAT(server().output(), Catch::Contains("sum: summarizer (t5)") && Catch::Contains("asr: transcriber (whisper)"));
  auto page = c.Get("/");
  REQUIRE(page);
  for (const char* s : {"/v1/models", "/v1/predict", "/v1/summarize", "/v1/transcribe", "getUserMedia", "MediaRecorder"})
    CHECK(page->body.find(s) != std::string::npos);
  CHECK(page->body.find("src=\"http") == std::string::npos);
}

TEST_CASE("serve models: /v1/summarize matches nlpc predict --task summarize", "[serve][models][summarize]") {
  const std::vector<std::string> texts = {"nlpc is a command-line tool that trains text classifiers.",
                                          "A library for reading and writing audio files in many formats.",
                                          "Utilities to manage network interfaces and routing tables."};
  auto c = server().client();
  json req{{"model", "sum"}, {"texts", texts}, {"num_beams", 2}, {"max_new_tokens", 5}};
  json res = expect_json(c.Post("/v1/summarize", req.dump(), "application/json"), 200);
  REQUIRE(res["summaries"].size() == texts.size());
  CHECK(res["model"] == "sum");
  TempDir d;
  std::string in;
  for (const auto& t : texts) in += json{{"text", t}}.dump() + "\n";
  write_file(d.file("in.jsonl"), in);
  auto r = run_nlpc("--threads 1 predict --task summarize -m " + nlpc::test::trained_summarizer().model() + " -i " +
                    d.file("in.jsonl") + " -o " + d.file("out.jsonl") + " --num-beams 2 --max-new-tokens 5");
  REQUIRE(r.exit_code == 0);
  std::istringstream lines(read_file(d.file("out.jsonl")));
  std::string line;
  for (size_t i = 0; i < texts.size(); ++i) {
    REQUIRE(std::getline(lines, line));
    CHECK(res["summaries"][i] == json::parse(line)["summary"]);
  }
  // the default model of the kind when "model" is absent; option errors
  CHECK(expect_json(c.Post("/v1/summarize", json{{"texts", {texts[0]}}}.dump(), "application/json"), 200)["model"] == "sum");
  check_error(c.Post("/v1/summarize", json{{"texts", {"a"}}, {"num_beams", 0}}.dump(), "application/json"), 400,
              "invalid_request");
  check_error(c.Post("/v1/summarize", json{{"texts", {"a"}}, {"num_beams", 2}, {"do_sample", true}}.dump(),
                     "application/json"),
              422, "invalid_input");
  check_error(c.Post("/v1/summarize", json{{"texts", json::array()}}.dump(), "application/json"), 422, "empty_texts");
  check_error(c.Post("/v1/summarize", json{{"texts", {"a"}}, {"beams", 2}}.dump(), "application/json"), 400,
              "invalid_request");
  check_error(c.Post("/v1/summarize", json{{"texts", {"a"}}, {"model", "clf"}}.dump(), "application/json"), 400,
              "wrong_model_kind");
  check_error(c.Post("/v1/summarize", json{{"texts", {"a"}}, {"model", "nope"}}.dump(), "application/json"), 404,
              "model_not_found");
}

TEST_CASE("serve models: concurrent summaries are batched and each request gets its own", "[serve][models][summarize]") {
  const std::vector<std::string> texts = {"first package description text", "a second, longer description of a tool",
                                          "third", "the fourth text to summarize here", "fifth text", "sixth one"};
  auto c = server().client();
  std::vector<json> alone;
  for (const auto& t : texts)
    alone.push_back(expect_json(c.Post("/v1/summarize", json{{"texts", {t}}}.dump(), "application/json"), 200)["summaries"][0]);
  std::vector<std::string> got(texts.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < texts.size(); ++i) {
    threads.emplace_back([&, i] {
      auto cc = server().client();
      auto r = cc.Post("/v1/summarize", json{{"texts", {texts[i]}}}.dump(), "application/json");
      if (r && r->status == 200) got[i] = json::parse(r->body)["summaries"][0].get<std::string>();
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < texts.size(); ++i) CHECK(got[i] == alone[i].get<std::string>());
  auto m = c.Get("/metrics");
  REQUIRE(m);
  CHECK(m->body.find("nlpc_http_requests_total{endpoint=\"/v1/summarize\",status=\"200\"}") != std::string::npos);
}

TEST_CASE("serve models: /v1/transcribe matches nlpc transcribe; multipart and base64 JSON", "[serve][models][asr]") {
  auto c = server().client();
  const std::string wav = read_file(clip(0));
  json res = expect_json(post_multipart(c, "/v1/transcribe", multipart("clip0.wav", wav, {{"model", "asr"}})), 200);
  auto r = run_nlpc("--threads 1 transcribe -m " + whisper_model() + " --format json " + clip(0));
  REQUIRE(r.exit_code == 0);
  json cli = json::parse(r.out);
  CHECK(res["text"] == cli["text"]);
  CHECK(res["language"] == cli["language"]);
  REQUIRE(res["segments"].size() == cli["segments"].size());
  for (size_t i = 0; i < cli["segments"].size(); ++i) {
    CHECK(res["segments"][i]["start"].get<double>() == Approx(cli["segments"][i]["start"].get<double>()));
    CHECK(res["segments"][i]["end"].get<double>() == Approx(cli["segments"][i]["end"].get<double>()));
    CHECK(res["segments"][i]["text"] == cli["segments"][i]["text"]);
  }
  CHECK(res["duration"].get<double>() > 0.5);
  CHECK(res["model"] == "asr");
  // the same audio as base64 in a JSON body
  json b64 = expect_json(c.Post("/v1/transcribe", json{{"audio", base64(wav)}, {"filename", "clip0.wav"}}.dump(),
                                "application/json"),
                         200);
  CHECK(b64["text"] == res["text"]);
  // decoding options: a language, beam search, no timestamps
  auto r2 = run_nlpc("--threads 1 transcribe -m " + whisper_model() +
                     " --format json --language pt --beam-size 2 --no-timestamps " + clip(1));
  REQUIRE(r2.exit_code == 0);
  json opt = expect_json(post_multipart(c, "/v1/transcribe",
                                        multipart("clip1.wav", read_file(clip(1)),
                                                  {{"language", "pt"}, {"beam_size", "2"}, {"timestamps", "false"}})),
                         200);
  CHECK(opt["language"] == "pt");
  CHECK(opt["text"] == json::parse(r2.out)["text"]);
}

TEST_CASE("serve models: OpenAI's /v1/audio/transcriptions, a hand-built request and curl -F answer the same bytes",
          "[serve][models][asr][openai]") {
  auto c = server().client();
  const std::string wav = read_file(clip(2));
  auto hand = post_multipart(c, "/v1/audio/transcriptions",
                             multipart("clip2.wav", wav, {{"model", "whisper-1"}, {"response_format", "verbose_json"}}));
  json v = expect_json(hand, 200);
  CHECK(v["task"] == "transcribe");
  CHECK(v["language"].is_string());
  CHECK(v["duration"].get<double>() > 0.5);
  CHECK(v["segments"].is_array());
  if (std::system("curl --version >/dev/null 2>&1") == 0) {
    const std::string out = run_capture("curl -s -F file=@" + clip(2) + " -F model=whisper-1 -F response_format=verbose_json " +
                                        server().url("/v1/audio/transcriptions"));
    CHECK(out == hand->body);
  } else {
    WARN("curl is not installed: the curl -F comparison is skipped");
  }
  json plain = expect_json(c.Get("/v1/models"), 200);  // keep-alive between requests
  auto text = post_multipart(c, "/v1/audio/transcriptions", multipart("clip2.wav", wav, {{"response_format", "text"}}));
  REQUIRE(text);
  CHECK(text->status == 200);
  CHECK(text->body == v["text"].get<std::string>() + "\n");
  auto js = expect_json(post_multipart(c, "/v1/audio/transcriptions", multipart("clip2.wav", wav, {})), 200);
  CHECK(js == json{{"text", v["text"]}});
  for (const char* fmt : {"srt", "vtt"}) {
    auto sub = post_multipart(c, "/v1/audio/transcriptions", multipart("clip2.wav", wav, {{"response_format", fmt}}));
    REQUIRE(sub);
    CHECK(sub->status == 200);
    auto cli = run_nlpc(std::string("--threads 1 transcribe -m ") + whisper_model() + " --format " + fmt + " " + clip(2));
    CHECK(sub->body == cli.out);
  }
  check_error(post_multipart(c, "/v1/audio/transcriptions", multipart("clip2.wav", wav, {{"response_format", "xml"}})),
              400, "invalid_request");
  check_error(post_multipart(c, "/v1/audio/transcriptions",
                             multipart("clip2.wav", wav, {{"timestamp_granularities[]", "word"}})),
              400, "invalid_request");
  json tr = expect_json(post_multipart(c, "/v1/audio/translations", multipart("clip2.wav", wav, {{"response_format", "verbose_json"}})), 200);
  CHECK(tr["task"] == "translate");
}

TEST_CASE("serve models: speech -> label through /v1/predict with --asr-model", "[serve][models][asr]") {
  auto c = server().client();
  const std::string wav = read_file(clip(0));
  json p = expect_json(post_multipart(c, "/v1/predict", multipart("clip0.wav", wav, {{"model", "clf"}, {"top_k", "2"}})), 200);
  REQUIRE(p["predictions"].size() == 1);
  const json& pred = p["predictions"][0];
  json t = expect_json(post_multipart(c, "/v1/transcribe", multipart("clip0.wav", wav, {})), 200);
  CHECK(pred["transcript"] == t["text"]);
  json by_text = expect_json(c.Post("/v1/predict", json{{"model", "clf"}, {"texts", {t["text"]}}}.dump(), "application/json"), 200);
  CHECK(pred["label"] == by_text["predictions"][0]["label"]);
  CHECK(pred["score"].get<double>() == Approx(by_text["predictions"][0]["score"].get<double>()));
  CHECK(pred["top_k"].size() == 2);
  // the pipeline's own id, and base64 audio in JSON
  json b = expect_json(c.Post("/v1/predict", json{{"model", "clf:speech"}, {"audio", base64(wav)}}.dump(), "application/json"), 200);
  CHECK(b["predictions"][0]["label"] == pred["label"]);
  // a classifier alone has no speech recognizer
  nlpc::test::ServeProcess text_only({"--model", nlpc::test::trained_baseline_model()});
  auto tc = text_only.client();
  check_error(post_multipart(tc, "/v1/predict", multipart("clip0.wav", wav, {})), 400, "no_asr_model");
  check_error(post_multipart(tc, "/v1/transcribe", multipart("clip0.wav", wav, {})), 404, "model_not_found");
}

TEST_CASE("serve models: bad audio and bad requests get JSON errors and the server keeps answering",
          "[serve][models][asr]") {
  auto c = server().client();
  check_error(post_multipart(c, "/v1/transcribe", multipart("broken.wav", "RIFF....WAVEfmt not really audio", {})), 422,
              "invalid_audio");
  auto bad = post_multipart(c, "/v1/transcribe", multipart("broken.wav", "RIFF....WAVEfmt not really audio", {}));
  REQUIRE(bad);
  CHECK_THAT(bad->body, Catch::Contains("broken.wav") && !Catch::Contains("/tmp/nlpc-upload"));
  check_error(post_multipart(c, "/v1/transcribe", multipart("empty.wav", "", {})), 422, "invalid_audio");
  TempDir d;
  nlpc::audio::write_wav_s16(d.file("long.wav"), std::vector<float>(16000 * 25, 0.f), 16000);  // 25 s > 20 s
  check_error(post_multipart(c, "/v1/transcribe", multipart("long.wav", read_file(d.file("long.wav")), {})), 413,
              "audio_too_long");
  check_error(c.Post("/v1/transcribe", R"({"audio": "not*base64"})", "application/json"), 400, "invalid_base64");
  check_error(c.Post("/v1/transcribe", R"({"model": "asr"})", "application/json"), 400, "invalid_request");
  check_error(c.Post("/v1/transcribe", "{", "application/json"), 400, "invalid_json");
  const std::string wav = read_file(fixture("audio/digits/clip0.wav"));
  check_error(post_multipart(c, "/v1/transcribe", multipart("clip0.wav", wav, {{"task", "dance"}})), 422, "invalid_input");
  check_error(post_multipart(c, "/v1/transcribe", multipart("clip0.wav", wav, {{"language", "klingon"}})), 422,
              "invalid_input");
  check_error(post_multipart(c, "/v1/transcribe", multipart("clip0.wav", wav, {{"beam_size", "-1"}})), 400,
              "invalid_request");
  check_error(post_multipart(c, "/v1/transcribe", multipart("clip0.wav", wav, {{"volume", "11"}})), 400,
              "invalid_request");
  check_error(post_multipart(c, "/v1/transcribe", multipart("clip0.wav", wav, {{"model", "sum"}})), 400,
              "wrong_model_kind");
  // /v1/predict reads a multipart upload as /v1/transcribe does: an unknown field is an error, as in JSON
  check_error(post_multipart(c, "/v1/predict", multipart("clip0.wav", wav, {{"volume", "11"}})), 400,
              "invalid_request");
  check_error(c.Post("/v1/predict", "--x\r\n", "multipart/form-data; boundary=x"), 400, "invalid_request");
  // still answering
  CHECK(expect_json(c.Get("/healthz"), 200)["status"] == "ok");
  CHECK(expect_json(post_multipart(c, "/v1/transcribe", multipart("clip0.wav", wav, {})), 200)["text"].is_string());
}

TEST_CASE("serve models: concurrent transcriptions share the encoder and each gets its own transcript",
          "[serve][models][asr]") {
  auto c = server().client();
  std::vector<std::string> wavs, alone;
  for (int i = 0; i < 3; ++i) {
    wavs.push_back(read_file(clip(i)));
    alone.push_back(expect_json(post_multipart(c, "/v1/transcribe", multipart("clip.wav", wavs.back(), {})), 200).dump());
  }
  auto batches = [&] {
    auto m = c.Get("/metrics");
    std::smatch sm;
    REQUIRE(std::regex_search(m->body, sm, std::regex("\nnlpc_batches_total ([0-9]+)\n")));
    return std::stoll(sm[1].str());
  };
  const long long before = batches();
  std::vector<std::string> got(6);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i) {
    threads.emplace_back([&, i] {
      auto cc = server().client();
      auto r = post_multipart(cc, "/v1/transcribe", multipart("clip.wav", wavs[i % 3], {}));
      if (r && r->status == 200) got[i] = r->body;
    });
  }
  for (auto& t : threads) t.join();
  // the same transcripts as one by one (the batched encoder may differ in the last float digits)
  for (size_t i = 0; i < got.size(); ++i) {
    REQUIRE(!got[i].empty());
    const json want = json::parse(alone[i % 3]), have = json::parse(got[i]);
    CHECK(have["text"] == want["text"]);
    CHECK(have["language"] == want["language"]);
    REQUIRE(have["segments"].size() == want["segments"].size());
    for (size_t k = 0; k < want["segments"].size(); ++k) {
      CHECK(have["segments"][k]["tokens"] == want["segments"][k]["tokens"]);
      CHECK(have["segments"][k]["avg_logprob"].get<double>() ==
            Approx(want["segments"][k]["avg_logprob"].get<double>()).epsilon(1e-5));
    }
  }
  INFO("model calls for 6 concurrent recordings: " << batches() - before);
  CHECK(batches() - before < 6);  // merged (the server waits 100 ms for more)
}
