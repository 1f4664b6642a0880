// SHA-256 against the FIPS 180-4 / NIST example vectors.
#include <aether/io/sha256.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace sha256_test {

namespace {

using aether::io::Sha256;
using aether::io::sha256_hex;

std::string hex_of(const std::string& s) { return sha256_hex(s.data(), s.size()); }

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(hex_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 448 bits: the padding needs a second block.
  EXPECT_EQ(hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hex_of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                   "mnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256, MillionAInUnevenChunks) {
  Sha256 h;
  const std::string chunk(997, 'a');  // prime-sized pieces cross every block boundary
  std::size_t left = 1000000;
  while (left > 0) {
    const std::size_t n = std::min(left, chunk.size());
    h.update(chunk.data(), n);
    left -= n;
  }
  const auto d = h.finish();
  EXPECT_EQ(aether::io::to_hex(d.data(), d.size()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PaddingBoundaries) {
  // Lengths around the 55/56/64-byte padding edges hash the same in one call
  // and byte by byte.
  for (std::size_t n : {55u, 56u, 63u, 64u, 65u, 119u, 120u}) {
    const std::string s(n, 'x');
    Sha256 h;
    for (char c : s) h.update(&c, 1);
    const auto d = h.finish();
    EXPECT_EQ(aether::io::to_hex(d.data(), d.size()), hex_of(s)) << n;
  }
  // NIST: 55 and 56 'a' bytes differ from their neighbours (sanity on the edge).
  EXPECT_NE(hex_of(std::string(55, 'a')), hex_of(std::string(56, 'a')));
}

TEST(Sha256, FileMatchesBuffer) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("aether_sha256_test." + std::to_string(std::random_device{}()) + ".bin");
  {
    std::ofstream out(path, std::ios::binary);
    out << "abc";
  }
  EXPECT_EQ(aether::io::sha256_file_hex(path), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::filesystem::remove(path);
  try {
    aether::io::sha256_file_hex(path);
    FAIL() << "missing file accepted";
  } catch (const aether::Error& e) {
    EXPECT_EQ(e.code(), aether::Errc::io_error);
    EXPECT_NE(std::string(e.what()).find("aether_sha256_test."), std::string::npos);
  }
}

}  // namespace

}  // namespace sha256_test
