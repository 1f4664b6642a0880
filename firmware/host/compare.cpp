/// firmware_compare: compares the firmware test image's output with the
/// host's (firmware/node_image.c). Lines starting with "#" are skipped; the
/// others must pair up one to one, token by token: tokens that are numbers
/// (strtod consumes all of them; "t=5" is not one, "0x104" is) agree when
/// |image - host| <= 1e-5 * max(1, |host|), any other token must be equal.
///
///   firmware_compare HOST_OUTPUT IMAGE_OUTPUT
///
/// Prints every difference and a summary on stdout. Exit status
/// (tools/cli.hpp): 0 the outputs agree, 1 they differ (or a line is
/// missing or extra), 2 usage or I/O error.
#include "tools/cli.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr double kRelTol = 1e-5;

bool read_lines(const std::string& path, std::vector<std::string>& out) {
  std::ifstream in(path);
  if (!in) return false;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    out.push_back(line);
  }
  return true;
}

bool as_number(const std::string& token, double& value) {
  if (token.empty()) return false;
  char* end = nullptr;
  errno = 0;
  value = std::strtod(token.c_str(), &end);
  return end == token.c_str() + token.size() && errno == 0;
}

std::vector<std::string> tokens_of(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string t; in >> t;) out.push_back(t);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host_path, image_path;
  auto app = aether_cli::make_app("firmware_compare",
                                  "Compares the firmware test image's output with the host's: numbers within\n"
                                  "1e-5 * max(1, |host|), other tokens equal, the same lines in the same order.");
  app->add_option("HOST_OUTPUT", host_path, "node_image_host's stdout")->required();
  app->add_option("IMAGE_OUTPUT", image_path, "node_image's stdout under qemu")->required();
  if (const auto rc = aether_cli::parse(*app, argc, argv)) return *rc;

  std::vector<std::string> host, image;
  for (const auto& [path, lines] : {std::pair{&host_path, &host}, std::pair{&image_path, &image}}) {
    if (!read_lines(*path, *lines)) {
      std::fprintf(stderr, "firmware_compare: cannot read %s\n", path->c_str());
      return aether_cli::kExitUsage;
    }
  }
  int differences = 0;
  std::size_t numbers = 0;
  double worst = 0;  // largest |image - host| / max(1, |host|)
  std::string worst_line;
  const std::size_t n = std::min(host.size(), image.size());
  for (std::size_t i = 0; i < n; ++i) {
    const std::vector<std::string> h = tokens_of(host[i]), m = tokens_of(image[i]);
    bool same = h.size() == m.size();
    for (std::size_t k = 0; same && k < h.size(); ++k) {
      double hv = 0, mv = 0;
      if (as_number(h[k], hv) && as_number(m[k], mv)) {
        ++numbers;
        const double rel = std::fabs(mv - hv) / std::max(1.0, std::fabs(hv));
        if (rel > worst) {
          worst = rel;
          worst_line = host[i];
        }
        same = rel <= kRelTol;  // NaN fails too
      } else {
        same = h[k] == m[k];
      }
    }
    if (!same) {
      ++differences;
      std::printf("line %zu differs:\n  host:  %s\n  image: %s\n", i + 1, host[i].c_str(), image[i].c_str());
    }
  }
  for (std::size_t i = n; i < host.size(); ++i, ++differences) std::printf("missing in the image: %s\n", host[i].c_str());
  for (std::size_t i = n; i < image.size(); ++i, ++differences) std::printf("extra in the image: %s\n", image[i].c_str());
  std::printf("firmware_compare: %zu host lines, %zu image lines, %zu numbers compared, largest relative difference %.3g "
              "(tolerance %.0e)%s%s; %d difference(s)\n",
              host.size(), image.size(), numbers, worst, kRelTol, worst_line.empty() ? "" : " in: ",
              worst_line.c_str(), differences);
  return differences == 0 ? aether_cli::kExitOk : aether_cli::kExitInvalid;
}
