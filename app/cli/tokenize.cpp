// `streamcanvas-cli tokenize`: a tokenizer's ids and tokens for a text, or the
// text of ids (app/cli/tokenize.h).
#include "app/cli/tokenize.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "base/error.h"
#include "engine/tokenizers/bpe_tokenizer.h"
#include "engine/tokenizers/clip_tokenizer.h"
#include "engine/tokenizers/utf8.h"

namespace sc::app {
namespace {

namespace fs = std::filesystem;

// One of the engine's tokenizers, behind the three calls the command makes.
struct AnyTokenizer {
  std::optional<engine::BpeTokenizer> bpe;
  std::optional<engine::ClipTokenizer> clip;
  std::string source;  // what errors name

  std::vector<std::int64_t> encode(const std::string& text) const {
    if (bpe) return bpe->encode(text);
    // CLIP's post-processor adds bos and eos, as transformers' tokenizer(text) does.
    std::vector<std::int64_t> ids = clip->encode(text);
    ids.insert(ids.begin(), clip->bos_id());
    ids.push_back(clip->eos_id());
    return ids;
  }
  std::optional<std::string> token(std::int64_t id) const { return bpe ? bpe->id_to_token(id) : clip->id_to_token(id); }
  std::string decode(const std::vector<std::int64_t>& ids) const { return bpe ? bpe->decode(ids) : clip->decode(ids); }
  std::size_t vocab_size() const { return bpe ? bpe->vocab_size() : clip->vocab_size(); }
};

bool says_clip(const fs::path& tokenizer_config) {
  if (!fs::is_regular_file(tokenizer_config)) return false;
  std::ifstream in(tokenizer_config, std::ios::binary);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object() || !j.contains("tokenizer_class") || !j["tokenizer_class"].is_string()) return false;
  return j["tokenizer_class"].get<std::string>().rfind("CLIPTokenizer", 0) == 0;
}

AnyTokenizer load_clip(const fs::path& folder) {
  AnyTokenizer t;
  t.clip = engine::ClipTokenizer::load(folder);
  t.source = folder.string();
  return t;
}

AnyTokenizer load_tokenizer(const std::string& where) {
  const fs::path path(where);
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) {
    throw Error(
        "tokenize: {} does not exist (--tokenizer takes a tokenizer.json, a folder holding one, or a CLIP "
        "tokenizer/ folder with vocab.json and merges.txt)",
        where);
  }
  if (fs::is_regular_file(st)) {
    // vocab.json or merges.txt named on their own: CLIP's folder.
    const std::string name = path.filename().string();
    if (name == "vocab.json" || name == "merges.txt") return load_clip(path.parent_path());
    AnyTokenizer t;
    t.bpe = engine::BpeTokenizer::from_files(path);
    t.source = where;
    return t;
  }
  if (!fs::is_directory(st)) throw Error("tokenize: {} is neither a file nor a folder", where);
  fs::path folder = path;
  const bool has_json = fs::exists(folder / "tokenizer.json");
  const bool has_clip = fs::exists(folder / "vocab.json") && fs::exists(folder / "merges.txt");
  if (!has_json && !has_clip && fs::is_directory(folder / "tokenizer")) folder /= "tokenizer";  // a diffusers pipeline
  if (fs::exists(folder / "vocab.json") && fs::exists(folder / "merges.txt") &&
      (!fs::exists(folder / "tokenizer.json") || says_clip(folder / "tokenizer_config.json"))) {
    return load_clip(folder);
  }
  if (fs::exists(folder / "tokenizer.json")) {
    AnyTokenizer t;
    t.bpe = engine::BpeTokenizer::load(folder);
    t.source = (folder / "tokenizer.json").string();
    return t;
  }
  throw Error("tokenize: {} holds no tokenizer: neither tokenizer.json nor CLIP's vocab.json + merges.txt", where);
}

std::string read_input(const TokenizeOptions& o, std::istream& in) {
  if (o.input != "-") return o.input;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Ids separated by whitespace and/or commas, optionally inside [ ].
std::vector<std::int64_t> parse_ids(std::string text) {
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  const std::size_t last = text.find_last_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[' && text[last] == ']') {
    text[first] = ' ';
    text[last] = ' ';
  }
  std::vector<std::int64_t> ids;
  std::size_t i = 0;
  auto separator = [](char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (i < text.size()) {
    if (separator(text[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && !separator(text[j])) ++j;
    const std::string word = text.substr(i, j - i);
    std::int64_t id = 0;
    const auto [end, err] = std::from_chars(word.data(), word.data() + word.size(), id);
    if (err != std::errc() || end != word.data() + word.size() || id < 0) {
      throw Error("tokenize --decode: '{}' is not a token id (ids are integers >= 0, separated by spaces or commas)",
                  engine::utf8::lossy(word));
    }
    ids.push_back(id);
    i = j;
  }
  return ids;
}

nlohmann::json::string_t dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string run_tokenize(const TokenizeOptions& o, std::istream& stdin_stream) {
  const AnyTokenizer tok = load_tokenizer(o.tokenizer);
  const std::string input = read_input(o, stdin_stream);
  if (o.decode) {
    const std::vector<std::int64_t> ids = parse_ids(input);
    for (std::int64_t id : ids) {
      if (!tok.token(id)) {
        throw Error("tokenize --decode: id {} is not in {} ({} tokens)", id, tok.source, tok.vocab_size());
      }
    }
    const std::string text = tok.decode(ids);
    if (o.json) return dump({{"text", text}}) + "\n";
    return text + "\n";
  }
  if (const std::size_t bad = engine::utf8::first_invalid(input); bad != std::string::npos) {
    throw Error("tokenize: the {} is not valid UTF-8 (byte {} is 0x{:02X}); {} reads UTF-8 text only",
                o.input == "-" ? "text on stdin" : "text", bad, static_cast<unsigned char>(input[bad]), tok.source);
  }
  const std::vector<std::int64_t> ids = tok.encode(input);
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (std::int64_t id : ids) tokens.push_back(tok.token(id).value_or(""));
  if (o.json) return dump({{"ids", ids}, {"tokens", tokens}}) + "\n";
  std::string out = fmt::format("{} token{}:", ids.size(), ids.size() == 1 ? "" : "s");
  for (std::int64_t id : ids) out += fmt::format(" {}", id);
  out += "\n";
  for (std::size_t i = 0; i < ids.size(); ++i) out += fmt::format("{:>8}  {}\n", ids[i], dump(tokens[i]));
  return out;
}

std::vector<CliCommand> add_tokenize_command(CLI::App& app) {
  auto o = std::make_shared<TokenizeOptions>();
  auto* cmd = app.add_subcommand(
      "tokenize",
      "Print the ids and tokens of a text (or, with --decode, the text of ids) for a tokenizer.json (Qwen2 and other "
      "byte-level BPE models) or a CLIP tokenizer/ folder, to check a tokenizer against another implementation");
  cmd->add_option("--tokenizer,-t", o->tokenizer,
                  "A tokenizer.json, a folder holding one, or a CLIP tokenizer/ folder (vocab.json + merges.txt)")
      ->required();
  cmd->add_flag("--decode,-d", o->decode, "Read ids (separated by spaces or commas) and print their text");
  cmd->add_flag("--json", o->json, "Print {\"ids\": [...], \"tokens\": [...]} (or {\"text\": ...} with --decode)");
  cmd->add_option("input", o->input,
                  "The text (special tokens in it are parsed; CLIP adds its bos and eos), or the ids with --decode; "
                  "- reads stdin as it is, a final newline included")
      ->required();
  return {{cmd, [o] {
             std::cout << run_tokenize(*o, std::cin) << std::flush;
             return 0;
           }}};
}

}  // namespace sc::app
