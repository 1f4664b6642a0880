#pragma once
// Small helpers shared by the test binaries.

#include <aether/error.hpp>
#include <aether/tensor.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <system_error>

namespace aether_test {

/// The `aether::Errc` that `f()` throws, or `Errc::ok` when it returns normally.
template <class F>
aether::Errc error_code_of(F&& f) {
  try {
    f();
  } catch (const aether::Error& e) {
    return e.code();
  }
  return aether::Errc::ok;
}

/// The message of the `aether::Error` that `f()` throws, after checking its
/// code is `want`; a test failure (and "") when `f()` throws nothing.
inline std::string error_text(aether::Errc want, const std::function<void()>& f) {
  try {
    f();
  } catch (const aether::Error& e) {
    EXPECT_EQ(e.code(), want) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return {};
}

/// A fresh directory under the system's temporary folder (named `prefix`
/// and a random number), removed with everything in it at the end.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix) {
    path = std::filesystem::temp_directory_path() / (prefix + "." + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

/// Token `i` of `t` as a `(1, heads, dim)` view.
template <class T>
aether::Tensor3View<const T> token(const aether::Tensor3<T>& t, std::size_t i) {
  return t.view().slice(i, 1);
}

}  // namespace aether_test
