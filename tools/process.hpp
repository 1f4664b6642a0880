#pragma once
// Child processes for the live tools' test and load benchmark (POSIX): start
// a program with stdout and stderr going to files, wait for it, signal it,
// and wait for a line to appear in one of its files.
//
// Tools and tests only. Functions throw aether::Error io_error naming the
// program or file; single-threaded use.

#include <aether/error.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace aether_tools {

/// Starts `argv` (argv[0] a path) with stdout to `out_file` and stderr to
/// `err_file` (truncated); returns its pid.
inline pid_t spawn_program(const std::vector<std::string>& argv, const std::string& out_file,
                           const std::string& err_file) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) aether::detail::fail(aether::Errc::io_error, argv[0] + ": cannot start (error " + std::to_string(rc) + ")");
  return pid;
}

/// Waits for `pid`; returns its exit status, or 128 + the signal that ended it.
inline int wait_program(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) aether::detail::fail(aether::Errc::io_error, "waitpid " + std::to_string(pid) + " failed");
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// spawn_program then wait_program.
inline int run_program(const std::vector<std::string>& argv, const std::string& out_file, const std::string& err_file) {
  return wait_program(spawn_program(argv, out_file, err_file));
}

/// The whole text of `path` ("" if it cannot be read).
inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Waits up to `timeout` for a line starting with `prefix` in `path`;
/// returns the rest of that line, or nullopt on timeout.
inline std::optional<std::string> wait_for_line(const std::string& path, const std::string& prefix,
                                                std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    std::istringstream in(read_text(path));
    std::string line;
    while (std::getline(in, line)) {
      if (line.compare(0, prefix.size(), prefix) == 0) return line.substr(prefix.size());
    }
    if (std::chrono::steady_clock::now() > end) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace aether_tools
