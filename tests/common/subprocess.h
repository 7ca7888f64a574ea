#pragma once
// Runs a command through the shell and captures its output and exit code.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace sc::test {

struct RunResult {
  int exit_code = -1;
  bool signaled = false;
  std::string output;  // stdout and stderr together
};

inline RunResult run_command(const std::string& command) {
  RunResult r;
  std::string full = command + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  int status = pclose(pipe);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signaled = true;
  return r;
}

// Single-quotes s for the shell.
inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace sc::test
