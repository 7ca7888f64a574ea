#pragma once
// `streamcanvas-cli tokenize --tokenizer FILE|DIR [--decode] [--json] TEXT|-`:
// the ids and tokens of a text, or the text of ids, for the tokenizers the
// engine reads (engine/tokenizers: a tokenizer.json, e.g. Qwen2's, and CLIP's
// vocab.json + merges.txt), so a tokenizer can be checked against another
// implementation.
#include <istream>
#include <string>
#include <vector>

#include "app/session/mode_registry.h"

namespace sc::app {

struct TokenizeOptions {
  // A tokenizer.json file; a folder with tokenizer.json (+ tokenizer_config.json);
  // a CLIP tokenizer/ folder (vocab.json + merges.txt); or a diffusers
  // pipeline folder holding tokenizer/.
  std::string tokenizer;
  std::string input;    // the text (or, with decode, the ids); "-": read stdin
  bool decode = false;  // input is ids separated by spaces or commas
  bool json = false;
};

// What the command prints (a trailing newline included): the ids and each
// id's token as the vocabulary spells it (id_to_token: "Ġworld", "cat</w>"),
// or the decoded text. Throws sc::Error
// naming the file or the input at fault: a missing or unreadable tokenizer,
// text that is not UTF-8, an id the tokenizer does not have.
std::string run_tokenize(const TokenizeOptions& options, std::istream& stdin_stream);

std::vector<CliCommand> add_tokenize_command(CLI::App& app);

}  // namespace sc::app
