// Proves that a hostile weights_len cannot make the .rvne reader allocate:
// this binary replaces the global operator new/delete with counting versions
// (hence its own executable), and measures every allocation made while the
// parser or read_file handles a 28-byte blob that claims up to 4 GiB.

#include <aether/rvne.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <random>
#include <string>
#include <vector>

namespace {

std::atomic<bool> g_counting{false};
std::atomic<std::uint64_t> g_count{0};
std::atomic<std::uint64_t> g_total{0};
std::atomic<std::uint64_t> g_largest{0};

void* counted_alloc(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_count.fetch_add(1, std::memory_order_relaxed);
    g_total.fetch_add(n, std::memory_order_relaxed);
    std::uint64_t prev = g_largest.load(std::memory_order_relaxed);
    while (n > prev && !g_largest.compare_exchange_weak(prev, n, std::memory_order_relaxed)) {
    }
  }
  return std::malloc(n == 0 ? 1 : n);
}

// RAII window during which allocations are counted.
struct Counting {
  Counting() {
    g_count = 0;
    g_total = 0;
    g_largest = 0;
    g_counting = true;
  }
  ~Counting() { g_counting = false; }
};

}  // namespace

void* operator new(std::size_t n) {
  if (void* p = counted_alloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = counted_alloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

namespace rvne = aether::rvne;
using aether::Errc;

// A 28-byte blob: valid header fields, the given weights_len, correct CRC.
std::vector<std::uint8_t> hostile(std::uint32_t weights_len) {
  rvne::Header h = rvne::Header::aether_default();
  std::vector<std::uint8_t> b(28);
  rvne::detail::encode_header(h, weights_len, b.data());
  rvne::detail::store_u32(b.data() + 24, rvne::crc32(b.data(), 24));
  return b;
}

constexpr std::uint32_t kHostileLens[] = {0xFFFFFFFFu, 0xFFFFFFFCu, 0xFFFFFFE4u, 0x7FFFFFFFu, 41216u};

TEST(RvneAlloc, CounterSeesAllocations) {
  // Positive control: a valid blob must allocate at least its weights, so a
  // broken counter cannot make the tests below pass vacuously.
  const std::vector<std::uint8_t> good = rvne::serialize(rvne::init_random(rvne::Header::aether_default()));
  std::uint64_t largest = 0;
  {
    Counting c;
    const rvne::Blob b = rvne::parse(good.data(), good.size());
    largest = g_largest;
  }
  EXPECT_GE(largest, 41216u);
}

TEST(RvneAlloc, NonThrowingParserNeverAllocates) {
  for (std::uint32_t wl : kHostileLens) {
    const std::vector<std::uint8_t> b = hostile(wl);
    rvne::ParseResult r;
    std::uint64_t count = 0;
    {
      Counting c;
      r = rvne::try_parse(b.data(), b.size());
      count = g_count;
    }
    EXPECT_EQ(r.code, Errc::truncated) << wl << ": " << r.message;
    EXPECT_EQ(count, 0u) << "weights_len " << wl;
  }
}

TEST(RvneAlloc, ThrowingParserAllocatesOnlyTheMessage) {
  for (std::uint32_t wl : kHostileLens) {
    const std::vector<std::uint8_t> b = hostile(wl);
    Errc code = Errc::ok;
    std::uint64_t total = 0, largest = 0;
    {
      Counting c;
      try {
        (void)rvne::parse(b.data(), b.size());
      } catch (const aether::Error& e) {
        code = e.code();
      }
      total = g_total;
      largest = g_largest;
    }
    EXPECT_EQ(code, Errc::truncated);
    // The what() string (well under 256 bytes) is all that may be allocated;
    // in particular nothing of the order of weights_len.
    EXPECT_LE(largest, 256u) << "weights_len " << wl;
    EXPECT_LE(total, 1024u) << "weights_len " << wl;
  }
}

// Version 2: accepting a valid v2 blob (descriptor checks, the tensor walk
// over for_each_tensor, the padding check) and refusing hostile ones
// (weights_len far beyond the bytes, an unknown block, a layout mismatch,
// every u16 field at its maximum) allocate nothing.
TEST(RvneAlloc, NonThrowingParserNeverAllocatesForVersion2) {
  const rvne::Header h = rvne::v2_benchmark_header();
  const std::vector<std::uint8_t> good = rvne::serialize(rvne::init_trainable(h, 3));
  ASSERT_GT(good.size(), 132u);
  // Bounds-checked stores (GCC's -Wstringop-overflow cannot see the sizes).
  auto put32 = [](std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
    if (at + 4 <= b.size()) rvne::detail::store_u32(b.data() + at, v);
  };
  auto recrc = [&put32](std::vector<std::uint8_t> b) {
    if (b.size() >= 4) put32(b, b.size() - 4, rvne::crc32(b.data(), b.size() - 4));
    return b;
  };
  struct Case {
    const char* what;
    std::vector<std::uint8_t> bytes;
    Errc want;
  };
  std::vector<Case> cases;
  cases.push_back({"good", good, Errc::ok});
  for (std::uint32_t wl : kHostileLens) {
    std::vector<std::uint8_t> b(good.begin(), good.begin() + 132);
    put32(b, rvne::detail::kOffWeightsLen, wl);
    cases.push_back({"hostile weights_len", recrc(b), Errc::truncated});
  }
  std::vector<std::uint8_t> b = good;
  put32(b, rvne::detail::kOffBlocks, 0x1FF);
  cases.push_back({"unknown block", recrc(b), Errc::unsupported_feature});
  b = std::vector<std::uint8_t>(good.begin(), good.end() - 4);
  b.insert(b.end(), 8, 0);
  put32(b, rvne::detail::kOffWeightsLen, static_cast<std::uint32_t>(b.size() - 132));
  cases.push_back({"layout mismatch", recrc(b), Errc::layout_mismatch});
  rvne::Header wide = h;  // every u16 field at its maximum: the layout saturates
  wide.input_dim = wide.q_heads = wide.kv_heads = wide.layers = wide.classes = 0xFFFF;
  wide.head_dim = 0xFFFE;
  wide.arch.d_model = wide.arch.ffn_dim = wide.arch.conv_kernel = wide.arch.conv_dilation = 0xFFFF;
  b.assign(132, 0);
  rvne::detail::encode_header(wide, 0, b.data());
  cases.push_back({"maximal fields", recrc(b), Errc::layout_mismatch});
  for (const Case& c : cases) {
    rvne::ParseResult r;
    std::uint64_t count = 0;
    {
      Counting counting;
      r = rvne::try_parse(c.bytes.data(), c.bytes.size());
      count = g_count;
    }
    EXPECT_EQ(r.code, c.want) << c.what << ": " << r.message;
    EXPECT_EQ(count, 0u) << c.what;
  }
}

TEST(RvneAlloc, ReadFileChecksTheSizeBeforeAllocating) {
  std::random_device rd;
  const auto dir = std::filesystem::temp_directory_path() / ("aether_rvne_alloc_" + std::to_string(rd()));
  std::filesystem::create_directories(dir);
  for (std::uint32_t wl : kHostileLens) {
    const std::vector<std::uint8_t> b = hostile(wl);
    const auto p = dir / "hostile.rvne";
    {
      std::ofstream f(p, std::ios::binary | std::ios::trunc);
      f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    }
    Errc code = Errc::ok;
    std::uint64_t largest = 0;
    {
      Counting c;
      try {
        (void)rvne::read_file(p);
      } catch (const aether::Error& e) {
        code = e.code();
      }
      largest = g_largest;
    }
    EXPECT_EQ(code, Errc::truncated);
    // Stream buffer, path strings and the message: a bounded amount that
    // does not depend on weights_len (here at most 41216 bytes would be a leak).
    EXPECT_LT(largest, 32u * 1024u) << "weights_len " << wl;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TEST(RvneAlloc, ReadFileRejectsFilesLargerThanAnyBlobWithoutReadingThem) {
  // Sparse files of 28 + 0xFFFFFFFF + 1 bytes and more: no weights_len can
  // describe them, so rule 5 (or an earlier rule) fails on the size alone.
  std::random_device rd;
  const auto dir = std::filesystem::temp_directory_path() / ("aether_rvne_big_" + std::to_string(rd()));
  std::filesystem::create_directories(dir);
  const auto p = dir / "huge.rvne";
  struct Case {
    std::uint64_t size;
    bool good_magic;
    Errc want;
  };
  const Case cases[] = {{rvne::kMaxBlobSize + 1, true, Errc::trailing_bytes},
                        {std::uint64_t{1} << 33, true, Errc::trailing_bytes},
                        {rvne::kMaxBlobSize + 1, false, Errc::bad_magic}};
  for (const Case& c : cases) {
    std::vector<std::uint8_t> head = hostile(0xFFFFFFFFu);
    if (!c.good_magic) head[0] ^= 0xFF;
    {
      std::ofstream f(p, std::ios::binary | std::ios::trunc);
      f.write(reinterpret_cast<const char*>(head.data()), static_cast<std::streamsize>(head.size()));
    }
    std::error_code ec;
    std::filesystem::resize_file(p, c.size, ec);
    ASSERT_FALSE(ec) << "cannot create a sparse file of " << c.size << " bytes: " << ec.message();
    Errc code = Errc::ok;
    std::uint64_t largest = 0;
    {
      Counting counting;
      try {
        (void)rvne::read_file(p);
      } catch (const aether::Error& e) {
        code = e.code();
      }
      largest = g_largest;
    }
    EXPECT_EQ(code, c.want) << c.size;
    EXPECT_LT(largest, 32u * 1024u) << c.size;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
