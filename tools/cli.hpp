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
//   and diagnostics on stderr.
//
// Use:
//   auto app = aether_cli::make_app("rvne", "Inspect .rvne weight blobs.");
//   app->add_option("FILE", path, "the blob")->required();
//   if (const auto rc = aether_cli::parse(*app, argc, argv)) return *rc;
//   ... catch (const aether::Error& e) { return aether_cli::exit_code_of(e); }
//
// Header-only; tools link the CMake target `aether_cli` (tools/CMakeLists.txt),
// which adds CLI11 and defines AETHER_VERSION_STRING. Not part of the library:
// include/aether/ never includes it.

#include <aether/error.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

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

/// A validator for a positive real number (finite, > 0), with a short message
/// ("must be a positive number, got '-1'"); CLI::PositiveNumber prints the
/// whole double range for reals.
inline CLI::Validator positive_real() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        try {
          std::size_t used = 0;
          const double v = std::stod(text, &used);
          if (used == text.size() && v > 0 && v < 1e300) return {};
        } catch (const std::exception&) {
        }
        return "must be a positive number, got '" + text + "'";
      },
      "POSITIVE");
}

}  // namespace aether_cli
