#pragma once
// The command-line convention of aether's programs (tools/ and examples/),
// on CLI11. Every program:
//
// - exits 0 on success; 1 when the data or model is invalid or a check
//   failed; 2 on a usage error (bad flag, value or argument count) or an
//   I/O error (exit_code_of maps an aether::Error to 1 or 2);
// - has --help (usage, options, exit codes) and --version (prints
//   "<program> <aether version>"), both exit 0;
// - reports a usage error on stderr as "<program>: <what>", naming the bad
//   flag or argument, plus a hint to --help, and exits 2;
// - puts results on stdout (--json where a program reads them) and progress
//   and diagnostics on stderr;
// - gives every numeric flag a range (`in_range`, shown in --help; a value
//   outside it, a non-finite float, a negative or overflowing count is a
//   usage error naming the value);
// - runs its main through `guarded`, so no exception (bad_alloc,
//   length_error, a JSON library's) ever aborts it: each becomes a message
//   and an exit status.
//
// Use:
//   auto app = aether_cli::make_app("rvne", "Inspect .rvne weight blobs.");
//   app->add_option("FILE", path, "the blob")->required();
//   int main(int argc, char** argv) {
//     return aether_cli::guarded("rvne", [&] {
//       auto app = aether_cli::make_app("rvne", "Inspect .rvne weight blobs.");
//       app->add_option("FILE", path, "the blob")->required();
//       app->add_option("--n", n, "count")->check(aether_cli::in_range<std::size_t>(1, 100));
//       if (const auto rc = aether_cli::parse(*app, argc, argv)) return *rc;
//       ...
//     });
//   }
//
// Header-only; tools link the CMake target `aether_cli` (tools/CMakeLists.txt),
// which adds CLI11 and defines AETHER_VERSION_STRING. Not part of the library:
// include/aether/ never includes it.

#include <aether/error.hpp>

#include <CLI/CLI.hpp>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>

#ifndef AETHER_VERSION_STRING
#error "tools/cli.hpp: link the aether_cli target (it defines AETHER_VERSION_STRING)"
#endif

namespace aether_cli {

/// Exit statuses of every aether program.
enum Exit : int {
  kExitOk = 0,       ///< success, valid data, check passed
  kExitInvalid = 1,  ///< invalid data or model, or a failed check
  kExitUsage = 2,    ///< usage error or I/O error
};

/// The exit status for a failed aether operation: 2 for an I/O error, 1 for
/// anything else (the data or model is invalid).
inline int exit_code_of(const aether::Error& e) noexcept {
  return e.code() == aether::Errc::io_error ? kExitUsage : kExitInvalid;
}

/// The subcommand chain `app` ran ("rvne info"), for messages.
inline std::string command_name(const CLI::App& app) {
  std::string name = app.get_name();
  const CLI::App* at = &app;
  while (true) {
    const auto chosen = at->get_subcommands();
    if (chosen.empty()) return name;
    at = chosen.front();
    name += " " + at->get_name();
  }
}

/// Prints "<program>: <why>" and the --help hint on stderr; returns 2.
/// For usage rules CLI11 cannot express (checked after parse).
inline int usage_error(const CLI::App& app, const std::string& why) {
  const std::string name = command_name(app);
  std::fprintf(stderr, "%s: %s\nRun '%s --help' for usage.\n", name.c_str(), why.c_str(), name.c_str());
  return kExitUsage;
}

/// An app named `name` with the convention's --help, --version, lowercase
/// "usage:" line and error format. Subcommands added later inherit the format.
inline std::unique_ptr<CLI::App> make_app(const std::string& name, const std::string& description) {
  auto app = std::make_unique<CLI::App>(description, name);
  app->set_version_flag("--version", name + " " + AETHER_VERSION_STRING, "Print the aether version and exit");
  app->get_formatter()->label("Usage", "usage");
  app->failure_message([](const CLI::App* a, const CLI::Error& e) {
    const std::string cmd = command_name(*a);
    return cmd + ": " + e.what() + "\nRun '" + cmd + " --help' for usage.\n";
  });
  return app;
}

/// Parses the command line. Returns nothing when the program should go on;
/// otherwise the status to exit with: 0 after printing --help or --version
/// (stdout), 2 after a parse error (stderr, naming the flag).
inline std::optional<int> parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
}

namespace detail {
template <class T>
std::string range_text(T lo, T hi) {
  std::ostringstream s;
  s.precision(std::numeric_limits<T>::digits10 + 1);
  s << "[" << +lo << ", " << +hi << "]";
  return s.str();
}
}  // namespace detail

/// A CLI11 check for a numeric flag of type T: the text must be a base-10
/// number that T holds exactly (no sign on an unsigned count, no overflow;
/// floats finite) and lie in [lo, hi]. The error names the value and the
/// range ("--nodes: 18446744073709551615 is outside [1, 1024]"); --help
/// shows the range. An integer is handed on in canonical decimal, so CLI11's
/// own conversion (which would read 010 as octal and -5 as 2^64 - 5 for an
/// unsigned type) sees the value checked here.
template <class T>
CLI::Validator in_range(T lo, T hi) {
  static_assert(std::is_arithmetic<T>::value && !std::is_same<T, bool>::value, "numeric flags only");
  const std::string range = detail::range_text(lo, hi);
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        const char* begin = text.c_str();
        char* end = nullptr;
        errno = 0;
        bool ok = !text.empty() && !std::isspace(static_cast<unsigned char>(text.front()));
        if constexpr (std::is_floating_point<T>::value) {
          const long double v = std::strtold(begin, &end);
          ok = ok && end == begin + text.size() && errno != ERANGE && std::isfinite(v);
          if (!ok) return "'" + text + "' is not a finite number";
          if (v < static_cast<long double>(lo) || v > static_cast<long double>(hi)) return text + " is outside " + range;
        } else if constexpr (std::is_signed<T>::value) {
          const long long v = std::strtoll(begin, &end, 10);
          if (!ok || end != begin + text.size()) return "'" + text + "' is not a whole number in " + range;
          if (errno == ERANGE || v < static_cast<long long>(lo) || v > static_cast<long long>(hi)) {
            return text + " is outside " + range;
          }
          text = std::to_string(v);
        } else {
          const unsigned long long v = std::strtoull(begin, &end, 10);
          if (!ok || end != begin + text.size()) return "'" + text + "' is not a whole number in " + range;
          if (text.front() == '-' || errno == ERANGE || v < static_cast<unsigned long long>(lo) ||
              v > static_cast<unsigned long long>(hi)) {
            return text + " is outside " + range;
          }
          text = std::to_string(v);
        }
        return std::string();
      },
      range);
}

/// Runs a program's `body` (returning its exit status) so that nothing it
/// throws ends in std::terminate (an abort, exit 134): an aether::Error
/// becomes exit_code_of's status, any other exception (std::bad_alloc,
/// std::length_error, the JSON library's) kExitUsage, each after
/// "<program>: <what>" on stderr. Every tool's and example's main is one
/// call of this.
template <class F>
int guarded(const char* program, F&& body) noexcept {
  try {
    return body();
  } catch (const aether::Error& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return exit_code_of(e);
  } catch (const std::bad_alloc& e) {
    std::fprintf(stderr, "%s: out of memory (%s): an input or a flag asks for more than this machine has\n", program,
                 e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return kExitUsage;
  } catch (...) {
    std::fprintf(stderr, "%s: unknown error\n", program);
    return kExitUsage;
  }
}

}  // namespace aether_cli
