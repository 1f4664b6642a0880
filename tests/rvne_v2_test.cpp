// The .rvne version 2 codec (issue 19 items 3 and 6): byte-identical round
// trips over every block combination, both dtypes, gates and featurisers;
// one test per validation rule of check_prefix, check_v2_reserved,
// check_descriptor and check_tensor_section, each with a blob whose CRC is
// correct, asserting the exact Errc and that the message names the field and
// the value; the order of the rules; ModelLimits and the ModelAttention
// agreement of TemporalModel on v2; sizes at the u16 limits; rvne::read_file.
// Blobs are built in memory (small: the largest is a few KiB); the file runs
// in well under a second.

#include <aether/rvne.hpp>
#include <aether/temporal_model.hpp>

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

namespace rvne_v2_test {

namespace rvne = aether::rvne;
namespace d = aether::rvne::detail;
using aether::Errc;
using Bytes = std::vector<std::uint8_t>;
using Model = aether::TemporalModel<float>;

// A small v2 header with `blocks` on and every size of an on block set (sizes
// chosen so fp32 tensors leave padding: W_in is 5 x 6 = 30 floats), sparse
// attention W 8 B 4, global token 0, causal; no gate, no featuriser.
rvne::Header small_header(std::uint32_t blocks = rvne::kKnownBlocks, rvne::Dtype dtype = rvne::Dtype::f32) {
  rvne::Header h;
  h.version = rvne::kVersion2;
  h.dtype = dtype;
  h.input_dim = 5;
  h.q_heads = 2;
  h.kv_heads = 1;
  h.head_dim = 4;
  h.layers = 2;
  h.classes = 3;
  rvne::Architecture& a = h.arch;
  a.blocks = blocks;
  if (a.has(rvne::kBlockInputProjection)) a.d_model = 6;
  if (a.has(rvne::kBlockFfn)) {
    a.ffn_dim = 7;
    a.ffn_activation = rvne::Activation::gelu;
  }
  if (a.has(rvne::kBlockConv)) {
    a.conv_kernel = 3;
    a.conv_dilation = 2;
    a.conv_activation = rvne::Activation::relu;
  }
  if (a.has(rvne::kBlockNorm)) a.norm_eps = 1e-5f;
  if (a.has(rvne::kBlockRope)) a.rope_base = 10000.0f;
  a.attention.backend = rvne::BackendKind::sparse;
  a.attention.window = 8;
  a.attention.block_size = 4;
  a.attention.causal = 1;
  a.attention.global_count = 1;
  a.attention.globals[0] = 0;
  return h;
}

// `small_header()` with a prune gate (hidden 3, top_k 4).
rvne::Header gated_header(rvne::GateKind kind = rvne::GateKind::prune) {
  rvne::Header h = small_header();
  h.arch.attention.gate = kind;
  h.arch.attention.gate_hidden = 3;
  h.arch.attention.gate_top_k = 4;
  return h;
}

// `small_header()` with a featuriser.
rvne::Header featurised_header(rvne::FeatureKind kind, std::uint16_t version, std::uint8_t flags,
                               std::uint32_t subcarriers = 0, std::uint16_t highpass = 0) {
  rvne::Header h = small_header();
  h.arch.features.kind = kind;
  h.arch.features.version = version;
  h.arch.features.flags = flags;
  h.arch.features.subcarriers = subcarriers;
  h.arch.features.highpass = highpass;
  return h;
}

Bytes good(const rvne::Header& h, std::uint64_t seed = 1) { return rvne::serialize(rvne::init_trainable(h, seed)); }

void recrc(Bytes& b) { d::store_u32(b.data() + b.size() - 4, rvne::crc32(b.data(), b.size() - 4)); }

struct Patch {
  std::size_t offset;
  int width;  // 1, 2 or 4 bytes, little-endian
  std::uint32_t value;
};

// `b` with the patches applied and its CRC recomputed (so the CRC rule passes).
Bytes patched(Bytes b, std::initializer_list<Patch> patches) {
  for (const Patch& p : patches) {
    if (p.width == 1) b[p.offset] = static_cast<std::uint8_t>(p.value);
    if (p.width == 2) d::store_u16(b.data() + p.offset, static_cast<std::uint16_t>(p.value));
    if (p.width == 4) d::store_u32(b.data() + p.offset, p.value);
  }
  recrc(b);
  return b;
}

std::uint32_t bits(float f) { return d::f32_to_bits(f); }

// try_parse, parse and validate agree on `code`, and the message holds `needle`.
void expect_refused(const Bytes& b, Errc code, const std::string& needle) {
  const rvne::ParseResult r = rvne::try_parse(b.data(), b.size());
  EXPECT_EQ(r.code, code) << aether::errc_name(r.code) << ": " << r.message;
  EXPECT_NE(std::string(r.message).find(needle), std::string::npos) << "message \"" << r.message << "\" lacks \"" << needle << "\"";
  EXPECT_EQ(rvne::validate(b.data(), b.size()), code);
  EXPECT_EQ(aether_test::error_code_of([&] { rvne::parse(b.data(), b.size()); }), code);
}

// ---------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------

// Every tensor of a v2 blob starts 16-byte aligned from the blob's start, and
// the bytes between tensors are zero.
void expect_aligned_and_padded(const Bytes& bytes, const rvne::Header& h) {
  const std::uint64_t es = rvne::element_size(h.dtype);
  std::uint64_t end = 0;
  rvne::for_each_tensor(h, [&](const rvne::MatrixShape& m) {
    EXPECT_EQ((rvne::kV2TensorStart + m.offset * es) % rvne::kV2TensorAlign, 0u) << m.name << " layer " << m.layer;
    for (std::uint64_t b = end; b < m.offset * es; ++b) EXPECT_EQ(bytes[rvne::kV2TensorStart + b], 0) << m.name;
    end = (m.offset + m.elements()) * es;
  });
  EXPECT_EQ(rvne::kV2TensorStart + end + rvne::kCrcSize, bytes.size());
}

void expect_round_trip(const rvne::Header& h, std::uint64_t seed) {
  const rvne::Blob blob = rvne::init_trainable(h, seed);
  const Bytes bytes = rvne::serialize(blob);
  ASSERT_EQ(bytes.size(), rvne::serialized_size(rvne::layout_bytes(h), rvne::kVersion2));
  EXPECT_EQ(d::load_u16(bytes.data() + d::kOffVersion), rvne::kVersion2);
  const rvne::ParseResult r = rvne::try_parse(bytes.data(), bytes.size());
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_TRUE(r.view.header == h);
  EXPECT_EQ(r.view.weights, bytes.data() + rvne::kV2TensorStart);
  EXPECT_EQ(r.view.weights_len, rvne::layout_bytes(h));
  const rvne::Blob back = rvne::parse(bytes);
  EXPECT_TRUE(back == blob);
  EXPECT_EQ(rvne::serialize(back), bytes);
  expect_aligned_and_padded(bytes, h);
}

TEST(RvneV2, EveryBlockCombinationRoundTripsByteIdenticalInBothDtypes) {
  for (std::uint32_t blocks = 0; blocks <= rvne::kKnownBlocks; ++blocks) {
    for (rvne::Dtype dt : {rvne::Dtype::f32, rvne::Dtype::f16}) {
      SCOPED_TRACE("blocks " + std::to_string(blocks) + " " + rvne::dtype_name(dt));
      rvne::Header h = small_header(blocks, dt);
      h.arch.pool = blocks % 2 ? rvne::PoolKind::last : rvne::PoolKind::mean;  // both pools spread over the combinations
      expect_round_trip(h, blocks + 1);
      // The same model is accepted by TemporalModel (the layout is its binding).
      EXPECT_EQ(Model::check(h, rvne::layout_bytes(h), aether::ModelAttention{}), Errc::ok);
    }
  }
}

TEST(RvneV2, BenchmarkGatedAndFeaturisedHeadersRoundTrip) {
  const std::vector<rvne::Header> headers = {
      rvne::v2_benchmark_header(),
      rvne::v2_benchmark_header(rvne::Dtype::f16),
      gated_header(rvne::GateKind::prune),
      gated_header(rvne::GateKind::salient),
      featurised_header(rvne::FeatureKind::csi_amplitude, 1, rvne::kFeatureLog | rvne::kFeatureCentre, 64),
      featurised_header(rvne::FeatureKind::csi_amplitude, 2, rvne::kFeatureConstant | rvne::kFeatureStandardised, 0),
      featurised_header(rvne::FeatureKind::node_features, 1, 0),
      featurised_header(rvne::FeatureKind::node_features, 2, rvne::kFeatureConstant | rvne::kFeatureStandardised),
      featurised_header(rvne::FeatureKind::csi_amplitude, 1, rvne::kFeatureLog | rvne::kFeatureStandardised, 0, 50),
      featurised_header(rvne::FeatureKind::node_features, 1, 0, 0, 0xFFFF),
  };
  std::uint64_t seed = 11;
  for (const rvne::Header& h : headers) {
    SCOPED_TRACE(std::to_string(seed));
    expect_round_trip(h, seed++);
    rvne::Header h16 = h;
    h16.dtype = rvne::Dtype::f16;
    expect_round_trip(h16, seed++);
    // A dense, non-causal, differently pooled variant of the same header.
    rvne::Header dense = h;
    if (dense.arch.attention.gate == rvne::GateKind::none) {
      dense.arch.attention.backend = rvne::BackendKind::dense;
      dense.arch.attention.causal = 0;
      dense.arch.attention.global_count = 3;
      dense.arch.attention.globals[1] = 2;
      dense.arch.attention.globals[2] = 0xFFFFFFFFu;
      dense.arch.pool = rvne::PoolKind::mean;
      expect_round_trip(dense, seed++);
    }
  }
}

TEST(RvneV2, StandardisationTensorsKeepTheirValues) {
  const rvne::Header h =
      featurised_header(rvne::FeatureKind::csi_amplitude, 2, rvne::kFeatureConstant | rvne::kFeatureStandardised);
  rvne::Blob blob = rvne::init_trainable(h, 5);
  int found = 0;
  rvne::for_each_tensor(h, [&](const rvne::MatrixShape& m) {
    if (std::string(m.name).rfind("features.", 0) != 0) return;
    EXPECT_FALSE(m.trainable) << m.name;
    EXPECT_EQ(m.cols, h.input_dim);
    ++found;
    for (std::uint64_t i = 0; i < m.elements(); ++i) {
      d::store_weight(h.dtype, blob.weights.data(), m.offset + i, 0.25f * static_cast<float>(i + found) - 0.5f);
    }
  });
  ASSERT_EQ(found, 2);
  const Bytes bytes = rvne::serialize(blob);
  const rvne::Blob back = rvne::parse(bytes);
  EXPECT_TRUE(back == blob);
  rvne::for_each_tensor(h, [&](const rvne::MatrixShape& m) {
    if (std::string(m.name) != "features.scale") return;
    EXPECT_EQ(back.weight(m.offset + 1), 0.25f * 3 - 0.5f);
  });
}

// Converting a v2 blob between fp32 and fp16 moves every tensor to its
// offset in the other dtype's layout (16-byte alignment is 4 floats but 8
// halves): was element by element, which put tensors after the first padding
// at the wrong offsets (serialize then refused the section: layout_mismatch).
TEST(RvneV2, ConvertedKeepsEveryTensorAtItsLayoutOffset) {
  for (std::uint32_t blocks : {0x00u, 0x01u, 0x0Du, 0xFFu}) {
    SCOPED_TRACE(blocks);
    const rvne::Header h32 = small_header(blocks);
    const rvne::Blob b32 = rvne::init_trainable(h32, blocks + 21);
    const rvne::Blob b16 = b32.converted(rvne::Dtype::f16);
    rvne::Header h16 = h32;
    h16.dtype = rvne::Dtype::f16;
    ASSERT_TRUE(b16.header == h16);
    ASSERT_EQ(b16.weights.size(), rvne::layout_bytes(h16));
    const Bytes bytes16 = rvne::serialize(b16);  // the section is h16's layout, padding zero
    expect_aligned_and_padded(bytes16, h16);
    for (std::uint64_t t = 0; t < rvne::matrix_count(h32); ++t) {
      const rvne::MatrixShape m32 = rvne::matrix_shape(h32, t), m16 = rvne::matrix_shape(h16, t);
      ASSERT_STREQ(m32.name, m16.name);
      for (std::uint64_t i = 0; i < m32.elements(); ++i) {
        const float want = aether::half_bits_to_float(aether::float_to_half_bits(b32.weight(m32.offset + i)));
        ASSERT_EQ(b16.weight(m16.offset + i), want) << m32.name << " layer " << m32.layer << " element " << i;
      }
    }
    // fp16 -> fp32 is exact: converting back gives the rounded fp32 blob.
    const rvne::Blob back = b16.converted(rvne::Dtype::f32);
    EXPECT_EQ(rvne::serialize(back.converted(rvne::Dtype::f16)), bytes16);
  }
  rvne::Blob wrong = rvne::init_trainable(small_header(), 1);
  wrong.weights.resize(wrong.weights.size() - 4);
  const std::string msg = aether_test::error_text(Errc::layout_mismatch, [&] { (void)wrong.converted(rvne::Dtype::f16); });
  EXPECT_NE(msg.find("converting a version 2 blob of " + std::to_string(wrong.weights.size())), std::string::npos) << msg;
}

// No descriptor byte is ignored: flipping any bit of 0x18..0x7F is either
// refused or decodes to a different header (one encoding per model).
TEST(RvneV2, EveryDescriptorBitIsReadOrRefused) {
  for (const rvne::Header& h : {small_header(), gated_header(), small_header(0)}) {
    const Bytes base = good(h);
    int accepted = 0;
    for (std::size_t at = rvne::kHeaderSize; at < rvne::kV2TensorStart; ++at) {
      for (int bit = 0; bit < 8; ++bit) {
        Bytes b = base;
        b[at] = static_cast<std::uint8_t>(b[at] ^ (1u << bit));
        recrc(b);
        const rvne::ParseResult r = rvne::try_parse(b.data(), b.size());
        if (!r.ok()) {
          EXPECT_NE(r.message[0], '\0');
          continue;
        }
        ++accepted;
        EXPECT_FALSE(r.view.header == h) << "byte 0x" << std::hex << at << " bit " << bit << " is ignored";
        EXPECT_EQ(rvne::serialize(r.view.to_blob()), b) << "byte 0x" << std::hex << at << " bit " << bit;
      }
    }
    EXPECT_GT(accepted, 0);  // window, globals[0], eps bits ... are free values
  }
}

// ---------------------------------------------------------------------------
// check_prefix, check_crc and rule 7 on v2
// ---------------------------------------------------------------------------

TEST(RvneV2Prefix, VersionFlagsReservedSizeAndCrc) {
  const Bytes base = good(small_header());
  expect_refused(patched(base, {{d::kOffVersion, 2, 3}}), Errc::unsupported_version, "version 3");
  expect_refused(patched(base, {{d::kOffFlags, 1, 0x03}}), Errc::unsupported_flags, "flags 0x03");
  expect_refused(patched(base, {{d::kOffReserved, 1, 0x40}}), Errc::unsupported_flags, "reserved byte 0x40");

  Bytes shorter(base.begin(), base.end() - 1);
  recrc(shorter);
  expect_refused(shorter, Errc::truncated, "weights_len " + std::to_string(base.size() - 132));
  Bytes longer = base;
  longer.push_back(0);
  recrc(longer);
  expect_refused(longer, Errc::trailing_bytes, "1 more than 132");

  Bytes bad_crc = base;
  bad_crc.back() ^= 0x01;
  expect_refused(bad_crc, Errc::checksum_mismatch, "stored crc32");
}

TEST(RvneV2Prefix, AVersion2HeaderWithoutItsDescriptorIsTruncated) {
  // 28..131 bytes claiming version 2 and weights_len 0: the descriptor is
  // missing; refused before any byte past the buffer is read (ASan build).
  const Bytes base = good(small_header());
  for (std::size_t size : {std::size_t{28}, std::size_t{29}, std::size_t{100}, std::size_t{131}}) {
    Bytes b(base.begin(), base.begin() + static_cast<std::ptrdiff_t>(size));
    d::store_u32(b.data() + d::kOffWeightsLen, 0);
    recrc(b);
    SCOPED_TRACE(size);
    expect_refused(b, Errc::truncated, "needs 132 + 0 = 132 bytes");
  }
  Bytes exact(base.begin(), base.begin() + 132);  // descriptor, no tensors, CRC
  d::store_u32(exact.data() + d::kOffWeightsLen, 0);
  recrc(exact);
  expect_refused(exact, Errc::layout_mismatch, "weights_len 0");
}

TEST(RvneV2Prefix, Rule7OnVersion2) {
  const Bytes base = good(small_header());
  expect_refused(patched(base, {{d::kOffInputDim, 2, 0}}), Errc::invalid_header, "input_dim 0");
  expect_refused(patched(base, {{d::kOffQHeads, 2, 3}, {d::kOffKvHeads, 2, 2}}), Errc::invalid_header,
                 "q_heads 3 is not divisible by kv_heads 2");
  expect_refused(patched(base, {{d::kOffKvHeads, 2, 0}}), Errc::invalid_header, "kv_heads 0");
  expect_refused(patched(base, {{d::kOffLayers, 2, 0}}), Errc::invalid_header, "layers 0");
  expect_refused(patched(base, {{d::kOffClasses, 2, 1}}), Errc::invalid_header, "classes 1");
  // fp16 with an odd weights_len: not a whole number of elements.
  const Bytes f16 = good(small_header(rvne::kKnownBlocks, rvne::Dtype::f16));
  Bytes odd(f16.begin(), f16.end() - 4);
  odd.push_back(0);
  odd.insert(odd.end(), 4, 0);
  d::store_u32(odd.data() + d::kOffWeightsLen, static_cast<std::uint32_t>(odd.size() - 132));
  recrc(odd);
  expect_refused(odd, Errc::invalid_header, "is not a multiple of the f16 element size 2");
}

// ---------------------------------------------------------------------------
// check_v2_reserved
// ---------------------------------------------------------------------------

TEST(RvneV2Reserved, EveryReservedDescriptorByteMustBeZero) {
  const Bytes base = good(small_header());
  std::vector<std::size_t> reserved = {d::kOffReserved3B, d::kOffReserved47};
  for (std::size_t b = d::kOffReservedTail; b < rvne::kV2TensorStart; ++b) reserved.push_back(b);
  ASSERT_EQ(reserved.size(), 20u);  // 0x3B, 0x47, 0x6E..0x7F (0x6C..0x6D: feature_highpass)
  for (std::size_t at : reserved) {
    char needle[64];
    std::snprintf(needle, sizeof needle, "reserved descriptor byte 0x80 at 0x%02zX", at);
    SCOPED_TRACE(needle);
    expect_refused(patched(base, {{at, 1, 0x80}}), Errc::unsupported_flags, needle);
  }
}

// ---------------------------------------------------------------------------
// check_descriptor
// ---------------------------------------------------------------------------

struct Case {
  const char* what;
  std::vector<Patch> patches;
  Errc code;
  const char* needle;
};

void run_cases(const Bytes& base, const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Bytes b = base;
    for (const Patch& p : c.patches) b = patched(b, {p});
    expect_refused(b, c.code, c.needle);
  }
}

constexpr Errc kFeature = Errc::unsupported_feature;
constexpr Errc kHeader = Errc::invalid_header;

TEST(RvneV2Descriptor, UnknownIdsAreUnsupportedFeatures) {
  const std::uint16_t csi = static_cast<std::uint16_t>(rvne::FeatureKind::csi_amplitude);
  run_cases(good(small_header()),
            {
                {"block bit 8", {{d::kOffBlocks, 4, 0x1FF}}, kFeature, "blocks 0x000001FF name unknown block bit(s) 0x00000100"},
                {"block bit 31", {{d::kOffBlocks, 4, 0x800000FF}}, kFeature, "unknown block bit(s) 0x80000000"},
                {"conv activation 3", {{d::kOffConvAct, 1, 3}}, kFeature, "conv_activation id 3"},
                {"ffn activation 255", {{d::kOffFfnAct, 1, 255}}, kFeature, "ffn_activation id 255"},
                {"pool 2", {{d::kOffPool, 1, 2}}, kFeature, "pool id 2"},
                {"backend 2", {{d::kOffBackend, 1, 2}}, kFeature, "backend id 2"},
                {"gate 3", {{d::kOffGate, 1, 3}}, kFeature, "gate id 3"},
                {"feature kind 3", {{d::kOffFeatureKind, 2, 3}}, kFeature, "feature_kind id 3"},
                {"feature kind 0x100", {{d::kOffFeatureKind, 2, 0x100}}, kFeature, "feature_kind id 256"},
                {"feature version 0",
                 {{d::kOffFeatureKind, 2, csi}, {d::kOffFeatureVersion, 2, 0}},
                 kFeature,
                 "feature_version 0 of csi-amplitude is unknown"},
                {"feature version 3",
                 {{d::kOffFeatureKind, 2, csi}, {d::kOffFeatureVersion, 2, 3}},
                 kFeature,
                 "feature_version 3 of csi-amplitude is unknown"},
                {"feature flag 0x10",
                 {{d::kOffFeatureKind, 2, csi}, {d::kOffFeatureVersion, 2, 1}, {d::kOffFeatureFlags, 1, 0x11}},
                 kFeature,
                 "feature_flags 0x11 set unknown bit(s) 0x10"},
            });
}

TEST(RvneV2Descriptor, SizesAndValuesOfBlocksThatAreOn) {
  run_cases(good(small_header()),
            {
                {"d_model 0", {{d::kOffDModel, 2, 0}}, kHeader, "d_model 0 (must be at least 1)"},
                {"ffn_dim 0", {{d::kOffFfnDim, 2, 0}}, kHeader, "ffn_dim 0 (must be at least 1)"},
                {"ffn identity", {{d::kOffFfnAct, 1, 0}}, kHeader, "ffn_activation 0 (must be relu or gelu)"},
                {"conv_kernel 0", {{d::kOffConvKernel, 2, 0}}, kHeader, "conv_kernel 0 (must be at least 1)"},
                {"conv_dilation 0", {{d::kOffConvDilation, 2, 0}}, kHeader, "conv_dilation 0 (must be at least 1)"},
                {"norm_eps 0", {{d::kOffNormEps, 4, 0}}, kHeader, "norm_eps 0 (must be in (0, 1))"},
                {"norm_eps 1", {{d::kOffNormEps, 4, bits(1.0f)}}, kHeader, "norm_eps 1 (must be in (0, 1))"},
                {"norm_eps -1e-5", {{d::kOffNormEps, 4, bits(-1e-5f)}}, kHeader, "norm_eps -1e-05"},
                {"norm_eps NaN", {{d::kOffNormEps, 4, 0x7FC00000u}}, kHeader, "norm_eps nan"},
                {"norm_eps inf", {{d::kOffNormEps, 4, 0x7F800000u}}, kHeader, "norm_eps inf"},
                {"rope_base 1", {{d::kOffRopeBase, 4, bits(1.0f)}}, kHeader, "rope_base 1 (must be in (1, 1e9])"},
                {"rope_base 0", {{d::kOffRopeBase, 4, 0}}, kHeader, "rope_base 0 (must be"},
                {"rope_base 2e9", {{d::kOffRopeBase, 4, bits(2e9f)}}, kHeader, "rope_base 2e+09"},
                {"rope_base NaN", {{d::kOffRopeBase, 4, 0xFFC00000u}}, kHeader, "rope_base -nan"},
                {"odd head_dim with RoPE", {{d::kOffHeadDim, 2, 3}}, kHeader, "head_dim 3 is odd"},
                {"gate without hidden", {{d::kOffGate, 1, 1}}, kHeader, "gate_hidden 0 (must be at least 1)"},
            });
}

TEST(RvneV2Descriptor, FieldsOfBlocksThatAreOffMustBeZero) {
  const std::uint16_t node = static_cast<std::uint16_t>(rvne::FeatureKind::node_features);
  run_cases(good(small_header(0)),
            {
                {"d_model", {{d::kOffDModel, 2, 4}}, kHeader, "d_model 4 but its block is off"},
                {"ffn_dim", {{d::kOffFfnDim, 2, 3}}, kHeader, "ffn_dim 3 but its block is off"},
                {"ffn_activation", {{d::kOffFfnAct, 1, 1}}, kHeader, "ffn_activation 1 but its block is off"},
                {"conv_kernel", {{d::kOffConvKernel, 2, 2}}, kHeader, "conv_kernel 2 but its block is off"},
                {"conv_dilation", {{d::kOffConvDilation, 2, 1}}, kHeader, "conv_dilation 1 but its block is off"},
                {"conv_activation", {{d::kOffConvAct, 1, 2}}, kHeader, "conv_activation 2 but its block is off"},
                {"norm_eps", {{d::kOffNormEps, 4, bits(1e-5f)}}, kHeader, "norm_eps 1e-05 but its block is off"},
                {"norm_eps -0", {{d::kOffNormEps, 4, 0x80000000u}}, kHeader, "norm_eps -0 but its block is off"},
                {"rope_base", {{d::kOffRopeBase, 4, bits(10000.0f)}}, kHeader, "rope_base 10000 but its block is off"},
                {"gate_hidden", {{d::kOffGateHidden, 2, 2}}, kHeader, "gate_hidden 2 but its block is off"},
                {"gate_top_k", {{d::kOffGateTopK, 4, 5}}, kHeader, "gate_top_k 5 but its block is off"},
                {"feature_version", {{d::kOffFeatureVersion, 2, 1}}, kHeader, "feature_version 1 but its block is off"},
                {"feature_flags", {{d::kOffFeatureFlags, 1, 8}}, kHeader, "feature_flags 8 but its block is off"},
                {"feature_subcarriers", {{d::kOffSubcarriers, 4, 64}}, kHeader,
                 "feature_subcarriers 64 but its block is off"},
                {"feature_highpass", {{d::kOffHighpass, 2, 50}}, kHeader, "feature_highpass 50 but its block is off"},
                {"node-features subcarriers",
                 {{d::kOffFeatureKind, 2, node}, {d::kOffFeatureVersion, 2, 1}, {d::kOffSubcarriers, 4, 64}},
                 kHeader,
                 "feature_subcarriers 64 but its block is off"},
            });
}

TEST(RvneV2Descriptor, AttentionFields) {
  run_cases(good(small_header()),
            {
                {"block_size 0", {{d::kOffBlockSize, 4, 0}}, kHeader, "block_size 0 (must be at least 1)"},
                {"causal 2", {{d::kOffCausal, 1, 2}}, kHeader, "causal 2 (must be 0 or 1)"},
                {"global_count 9", {{d::kOffGlobalCount, 1, 9}}, kHeader, "global_count 9 (at most 8)"},
                {"global beyond the count", {{d::kOffGlobals + 4, 4, 5}}, kHeader,
                 "globals[1] 5 beyond global_count 1 (must be 0)"},
                {"last global beyond the count", {{d::kOffGlobals + 28, 4, 1}}, kHeader, "globals[7] 1 beyond global_count 1"},
                {"globals not increasing", {{d::kOffGlobalCount, 1, 2}}, kHeader,
                 "globals[1] 0 is not above globals[0]"},
                {"globals decreasing",
                 {{d::kOffGlobalCount, 1, 3}, {d::kOffGlobals + 4, 4, 9}, {d::kOffGlobals + 8, 4, 7}},
                 kHeader,
                 "globals[2] 7 is not above globals[1]"},
            });
  run_cases(good(gated_header()), {{"gate on the dense backend", {{d::kOffBackend, 1, 0}}, kHeader,
                                    "gate 1 needs the sparse backend"}});
}

TEST(RvneV2Descriptor, FeaturiserConsistency) {
  const std::uint16_t csi = static_cast<std::uint16_t>(rvne::FeatureKind::csi_amplitude);
  const std::uint16_t node = static_cast<std::uint16_t>(rvne::FeatureKind::node_features);
  run_cases(good(small_header()),
            {
                {"version 2 without the constant",
                 {{d::kOffFeatureKind, 2, csi}, {d::kOffFeatureVersion, 2, 2}, {d::kOffFeatureFlags, 1, 1}},
                 kHeader,
                 "feature_version 2 with the constant feature off"},
                {"version 1 with the constant",
                 {{d::kOffFeatureKind, 2, csi}, {d::kOffFeatureVersion, 2, 1}, {d::kOffFeatureFlags, 1, 4}},
                 kHeader,
                 "feature_version 1 with the constant feature on"},
                {"constant with one input",
                 {{d::kOffFeatureKind, 2, csi}, {d::kOffFeatureVersion, 2, 2}, {d::kOffFeatureFlags, 1, 4},
                  {d::kOffInputDim, 2, 1}},
                 kHeader,
                 "the constant feature needs input_dim >= 2 (found 1)"},
                {"node-features with log",
                 {{d::kOffFeatureKind, 2, node}, {d::kOffFeatureVersion, 2, 1}, {d::kOffFeatureFlags, 1, 1}},
                 kHeader,
                 "feature_flags 0x01: node-features has no log or centre step"},
                {"node-features with centre",
                 {{d::kOffFeatureKind, 2, node}, {d::kOffFeatureVersion, 2, 2}, {d::kOffFeatureFlags, 1, 6}},
                 kHeader,
                 "feature_flags 0x06: node-features"},
            });
}

// ---------------------------------------------------------------------------
// check_tensor_section
// ---------------------------------------------------------------------------

// `base` with `delta` zero bytes added to (or removed from) the end of its
// tensor section, weights_len and CRC fixed.
Bytes resized_section(const Bytes& base, int delta) {
  Bytes b(base.begin(), base.end() - 4);
  if (delta >= 0) {
    b.insert(b.end(), static_cast<std::size_t>(delta), 0);
  } else {
    b.resize(b.size() - static_cast<std::size_t>(-delta));
  }
  b.insert(b.end(), 4, 0);
  d::store_u32(b.data() + d::kOffWeightsLen, static_cast<std::uint32_t>(b.size() - 132));
  recrc(b);
  return b;
}

TEST(RvneV2Tensors, WeightsLenMustBeTheLayout) {
  const rvne::Header h = small_header();
  const Bytes base = good(h);
  const std::string need = "need " + std::to_string(rvne::layout_bytes(h)) + " bytes";
  expect_refused(resized_section(base, 4), Errc::layout_mismatch,
                 "weights_len " + std::to_string(rvne::layout_bytes(h) + 4) + " but the v2 descriptor's tensors " + need);
  expect_refused(resized_section(base, -4), Errc::layout_mismatch,
                 "weights_len " + std::to_string(rvne::layout_bytes(h) - 4));
  expect_refused(resized_section(base, 16), Errc::layout_mismatch, need);  // a whole alignment unit more
}

TEST(RvneV2Tensors, EveryPaddingByteMustBeZero) {
  for (rvne::Dtype dt : {rvne::Dtype::f32, rvne::Dtype::f16}) {
    const rvne::Header h = small_header(rvne::kKnownBlocks, dt);
    const Bytes base = good(h);
    const std::uint64_t es = rvne::element_size(dt);
    std::uint64_t end = 0;
    int gaps = 0;
    rvne::for_each_tensor(h, [&](const rvne::MatrixShape& m) {
      for (std::uint64_t b = end; b < m.offset * es; ++b) {
        const std::size_t at = static_cast<std::size_t>(rvne::kV2TensorStart + b);
        char needle[96];
        std::snprintf(needle, sizeof needle, "padding byte 0x5A at 0x%zX before tensor %s (layer %d)", at, m.name,
                      m.layer);
        SCOPED_TRACE(needle);
        expect_refused(patched(base, {{at, 1, 0x5A}}), Errc::invalid_header, needle);
        if (b == end) ++gaps;
      }
      end = (m.offset + m.elements()) * es;
    });
    EXPECT_GE(gaps, 3) << rvne::dtype_name(dt);  // the test covers padding at all
  }
}

TEST(RvneV2Tensors, SerializeRunsTheSameChecks) {
  const rvne::Header h = small_header();
  rvne::Blob blob = rvne::init_trainable(h, 3);
  rvne::Blob longer = blob;
  longer.weights.resize(longer.weights.size() + 4);
  EXPECT_EQ(aether_test::error_code_of([&] { rvne::serialize(longer); }), Errc::layout_mismatch);
  // A non-zero padding byte: W_in is 30 floats, so bytes 120..127 of the section are padding.
  const rvne::MatrixShape w_in = rvne::matrix_shape(h, 0);
  ASSERT_STREQ(w_in.name, "W_in");
  ASSERT_EQ(w_in.elements(), 30u);
  rvne::Blob padded = blob;
  padded.weights[121] = 1;
  EXPECT_NE(aether_test::error_text(Errc::invalid_header, [&] { rvne::serialize(padded); }).find("padding byte 0x01"),
            std::string::npos);
  rvne::Blob unknown = blob;
  unknown.header.arch.pool = static_cast<rvne::PoolKind>(7);
  EXPECT_NE(aether_test::error_text(Errc::unsupported_feature, [&] { rvne::serialize(unknown); }).find("pool id 7"),
            std::string::npos);
}

// ---------------------------------------------------------------------------
// Order of the rules: a blob breaking two rules reports the earlier one
// ---------------------------------------------------------------------------

TEST(RvneV2Order, TheEarlierRuleWins) {
  const Bytes base = good(small_header());
  const Patch unknown_block{d::kOffBlocks, 4, 0x1FF};
  const Patch reserved{d::kOffReserved47, 1, 1};
  const Patch zero_d_model{d::kOffDModel, 2, 0};
  const Patch bad_pool{d::kOffPool, 1, 9};
  const Patch zero_input{d::kOffInputDim, 2, 0};
  // version before size
  Bytes b = patched(base, {{d::kOffVersion, 2, 3}});
  b.push_back(0);
  recrc(b);
  expect_refused(b, Errc::unsupported_version, "version 3");
  // flags before size
  b = patched(base, {{d::kOffFlags, 1, 0x80}});
  b.resize(b.size() - 8);
  recrc(b);
  expect_refused(b, Errc::unsupported_flags, "flags 0x80");
  // size before CRC
  b = base;
  b.push_back(0);
  expect_refused(b, Errc::trailing_bytes, "1 more than");
  // CRC before the descriptor's reserved bytes
  b = patched(base, {reserved});
  b.back() ^= 1;
  expect_refused(b, Errc::checksum_mismatch, "stored crc32");
  // reserved bytes before the descriptor's ids
  expect_refused(patched(base, {reserved, unknown_block}), Errc::unsupported_flags, "at 0x47");
  // rule 7 before the descriptor
  expect_refused(patched(base, {zero_input, unknown_block}), Errc::invalid_header, "input_dim 0");
  // unknown ids before values
  expect_refused(patched(base, {unknown_block, zero_d_model}), Errc::unsupported_feature, "blocks");
  expect_refused(patched(base, {bad_pool, {d::kOffNormEps, 4, 0}}), Errc::unsupported_feature, "pool id 9");
  // the descriptor before the tensor section
  b = resized_section(patched(base, {{d::kOffCausal, 1, 5}}), 4);
  expect_refused(b, Errc::invalid_header, "causal 5");
  // the section's length before its padding
  b = patched(base, {{rvne::kV2TensorStart + 121, 1, 1}});
  expect_refused(b, Errc::invalid_header, "padding byte");
  expect_refused(resized_section(b, 4), Errc::layout_mismatch, "weights_len");
  // within the descriptor: the per-block fields in their documented order
  expect_refused(patched(base, {zero_d_model, {d::kOffFfnDim, 2, 0}}), Errc::invalid_header, "d_model 0");
  expect_refused(patched(base, {{d::kOffBlockSize, 4, 0}, {d::kOffCausal, 1, 2}}), Errc::invalid_header, "block_size 0");
}

// ---------------------------------------------------------------------------
// Sizes at the limits: 64-bit arithmetic, clean refusals
// ---------------------------------------------------------------------------

// A header-only v2 blob (no tensors: weights_len 0) for a header serialize would refuse.
Bytes header_only(const rvne::Header& h, std::uint32_t weights_len = 0) {
  Bytes b(rvne::kV2TensorStart + 4);
  d::encode_header(h, weights_len, b.data());
  recrc(b);
  return b;
}

rvne::Header maximal_header(std::uint16_t layers) {
  rvne::Header h;
  h.version = rvne::kVersion2;
  h.input_dim = h.q_heads = h.kv_heads = h.classes = 0xFFFF;
  h.head_dim = 0xFFFE;  // even: RoPE is on
  h.layers = layers;
  rvne::Architecture& a = h.arch;
  a.blocks = rvne::kKnownBlocks;
  a.d_model = a.ffn_dim = a.conv_kernel = a.conv_dilation = 0xFFFF;
  a.conv_activation = a.ffn_activation = rvne::Activation::gelu;
  a.norm_eps = 0.5f;
  a.rope_base = 1e9f;
  a.attention.window = a.attention.block_size = 0xFFFFFFFFu;
  a.attention.global_count = 8;
  for (std::uint32_t i = 0; i < 8; ++i) a.attention.globals[i] = 0xFFFFFFF0u + i;
  a.attention.gate = rvne::GateKind::salient;
  a.attention.gate_hidden = 0xFFFF;
  a.attention.gate_top_k = 0xFFFFFFFFu;
  a.features = {rvne::FeatureKind::csi_amplitude, 2, rvne::kKnownFeatureFlags, 0xFFFFFFFFu, 0xFFFF};
  return h;
}

TEST(RvneV2Limits, MaximalFieldsAreComputedIn64BitsAndRefusedCleanly) {
  // One layer: the exact size, computed here in 128 bits from the documented
  // tensor list, is far beyond 2^32 and below 2^64.
  const rvne::Header one = maximal_header(1);
  __extension__ typedef unsigned __int128 u128;  // GCC and clang; exact beyond 2^64
  const u128 D = 0xFFFF, dm = 0xFFFF, q = u128{0xFFFF} * 0xFFFE, kv = q, C = 0xFFFF, f = 0xFFFF, k = 0xFFFF;
  const u128 gate = 2 * u128{0xFFFF} * 0xFFFE + 2 * u128{0xFFFF} * 0xFFFF + 2 * u128{0xFFFF} + 2;
  const u128 sizes[] = {D, D,  D * dm, dm, dm, k * dm, dm, dm, dm * q, q, dm * kv, kv, dm * kv, kv, q * dm, dm,
                        gate, dm, dm * f, f, f * dm, dm, dm, dm * C, C};
  u128 at = 0;
  for (u128 s : sizes) at = (at + 3) / 4 * 4 + s;  // fp32: 4 elements = 16 bytes
  ASSERT_EQ(rvne::matrix_count(one), sizeof sizes / sizeof sizes[0]);
  EXPECT_GT(at, u128{1} << 32);
  EXPECT_LT(at, u128{1} << 63);
  EXPECT_EQ(u128{rvne::layout_elements(one)}, at);
  EXPECT_EQ(u128{rvne::layout_bytes(one)}, 4 * at);
  expect_refused(header_only(one), Errc::layout_mismatch,
                 "weights_len 0 but the v2 descriptor's tensors need " + std::to_string(static_cast<std::uint64_t>(4 * at)));
  // Every field at its maximum: the size saturates instead of wrapping.
  const rvne::Header all = maximal_header(0xFFFF);
  EXPECT_EQ(rvne::layout_elements(all), std::numeric_limits<std::uint64_t>::max());
  expect_refused(header_only(all), Errc::layout_mismatch, "need 18446744073709551615 bytes");
  // Claiming the largest weights_len in a short blob: truncated, in 64 bits.
  expect_refused(header_only(all, 0xFFFFFFFCu), Errc::truncated, "needs 132 + 4294967292 = 4294967424 bytes");
  // The model's checks refuse it too, without weights.
  rvne::ParseResult why;
  EXPECT_EQ(Model::check(all, 0xFFFFFFFCu, aether::ModelAttention{}, &why), Errc::layout_mismatch) << why.message;
}

// ---------------------------------------------------------------------------
// TemporalModel on v2: ModelLimits and ModelAttention
// ---------------------------------------------------------------------------

TEST(RvneV2Model, WeightLimitIsCheckedOnTheLayout) {
  const rvne::Header h = small_header();
  const rvne::Blob blob = rvne::init_trainable(h, 4);
  aether::ModelLimits limits;
  limits.max_weight_elements = rvne::layout_elements(h);
  EXPECT_NO_THROW(Model(blob, aether::ModelAttention{}, limits));
  limits.max_weight_elements -= 1;
  const std::string msg = aether_test::error_text(Errc::limit_exceeded, [&] { Model(blob, aether::ModelAttention{}, limits); });
  EXPECT_NE(msg.find("has " + std::to_string(rvne::layout_elements(h)) + " weights, more than ModelLimits::max_weight_elements"),
            std::string::npos)
      << msg;
}

TEST(RvneV2Model, ConvolutionReachLimit) {
  const rvne::Header h = small_header();  // k 3, delta 2: reach 4
  const rvne::Blob blob = rvne::init_trainable(h, 4);
  aether::ModelLimits limits;
  limits.max_conv_reach = 4;
  EXPECT_NO_THROW(Model(blob, aether::ModelAttention{}, limits));
  limits.max_conv_reach = 3;
  const std::string msg = aether_test::error_text(Errc::limit_exceeded, [&] { Model(blob, aether::ModelAttention{}, limits); });
  EXPECT_NE(msg.find("(k - 1) * delta = 4 frames, more than ModelLimits::max_conv_reach 3"), std::string::npos) << msg;
  // The largest reach, (0xFFFF - 1) * 0xFFFF, is refused from the header
  // alone (no weights given: nothing was allocated for them).
  rvne::Header wide = small_header(rvne::kBlockConv);
  wide.arch.conv_kernel = wide.arch.conv_dilation = 0xFFFF;
  rvne::ParseResult why;
  EXPECT_EQ(Model::check(wide, rvne::layout_bytes(wide), aether::ModelAttention{}, &why), Errc::limit_exceeded);
  EXPECT_NE(std::string(why.message).find("= 4294770690 frames"), std::string::npos) << why.message;
  // The weight limit comes first.
  aether::ModelLimits tiny;
  tiny.max_weight_elements = 1;
  EXPECT_EQ(Model::check(wide, rvne::layout_bytes(wide), aether::ModelAttention{}, tiny, &why), Errc::limit_exceeded);
  EXPECT_NE(std::string(why.message).find("max_weight_elements 1"), std::string::npos) << why.message;
}

TEST(RvneV2Model, ContradictingModelAttentionNamesTheField) {
  const rvne::Header h = gated_header();
  const rvne::Blob blob = rvne::init_trainable(h, 6);
  EXPECT_NO_THROW(Model(blob, aether::ModelAttention{}));
  EXPECT_NO_THROW(Model(blob, Model::attention_of(h)));  // agreeing options are accepted
  struct C {
    const char* field;
    void (*change)(aether::ModelAttention&);
  };
  const C cases[] = {
      {"ModelAttention.backend", [](aether::ModelAttention& a) { a.backend = aether::Backend::Dense; }},
      {"ModelAttention.window", [](aether::ModelAttention& a) { a.window = 7; }},
      {"ModelAttention.block_size", [](aether::ModelAttention& a) { a.block_size = 5; }},
      {"ModelAttention.global_tokens", [](aether::ModelAttention& a) { a.global_tokens = {0, 1}; }},
      {"ModelAttention.causal", [](aether::ModelAttention& a) { a.causal = false; }},
  };
  for (const C& c : cases) {
    aether::ModelAttention a = Model::attention_of(h);
    c.change(a);
    const std::string msg = aether_test::error_text(Errc::invalid_config, [&] { Model(blob, a); });
    EXPECT_NE(msg.find(c.field), std::string::npos) << msg;
  }
  // An ungated blob given a gate.
  const rvne::Blob plain = rvne::init_trainable(small_header(), 6);
  aether::ModelAttention gated = Model::attention_of(h);
  const std::string msg = aether_test::error_text(Errc::invalid_config, [&] { Model(plain, gated); });
  EXPECT_NE(msg.find("ModelAttention.gate"), std::string::npos) << msg;
}

// A gated v2 blob whose gate tensor holds a NaN or an infinity: refused as
// invalid_config naming the layer and the value, as ModelGate's weights are
// (model_fuzz found it throwing FastGrnnGate's invalid_argument, naming no tensor).
TEST(RvneV2Model, NonFiniteGateWeightsAreInvalidConfigNamingTheTensor) {
  const rvne::Header h = gated_header();
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    rvne::Blob blob = rvne::init_trainable(h, 8);
    const rvne::MatrixShape gate = [&] {
      rvne::MatrixShape g;
      rvne::for_each_tensor(h, [&](const rvne::MatrixShape& m) {
        if (std::string(m.name) == "gate" && m.layer == 1) g = m;
      });
      return g;
    }();
    ASSERT_EQ(gate.elements(), rvne::gate_packed_size(h.head_dim, 3));
    d::store_weight(h.dtype, blob.weights.data(), gate.offset + 5, bad);
    const Bytes bytes = rvne::serialize(blob);  // the codec does not look at values
    const std::string msg = aether_test::error_text(Errc::invalid_config, [&] { Model(rvne::parse(bytes)); });
    EXPECT_NE(msg.find("gate tensor of layer 1: value 5 of " + std::to_string(gate.elements()) + " is not finite"),
              std::string::npos)
        << msg;
    // fp16 weights too, and the in-place (BlobView) constructor.
    const rvne::Blob b16 = blob.converted(rvne::Dtype::f16);
    EXPECT_EQ(aether_test::error_code_of([&] { Model m(b16); }), Errc::invalid_config);
    const rvne::ParseResult r = rvne::try_parse(bytes.data(), bytes.size());
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(aether_test::error_code_of([&] { Model m(r.view); }), Errc::invalid_config);
  }
}

TEST(RvneV2Model, EveryBlockCombinationRunsForwardAndStream) {
  for (std::uint32_t blocks = 0; blocks <= rvne::kKnownBlocks; blocks += 5) {
    SCOPED_TRACE(blocks);
    const rvne::Header h = small_header(blocks);
    const Model model(rvne::init_trainable(h, blocks));
    Model::Matrix x(6, h.input_dim);
    for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = 0.1f * static_cast<float>(i % 7) - 0.3f;
    const Model::Vector logits = model.forward(x, aether::Pool::last);
    ASSERT_EQ(logits.size(), h.classes);
    for (Eigen::Index c = 0; c < logits.size(); ++c) EXPECT_TRUE(std::isfinite(logits[c]));
    aether::TemporalStream<float> stream = model.make_stream(8);
    Model::Vector last;
    for (Eigen::Index t = 0; t < x.rows(); ++t) last = stream.push(x.row(t).data());
    for (Eigen::Index c = 0; c < logits.size(); ++c) EXPECT_NEAR(last[c], logits[c], 1e-4f) << c;
  }
}

// ---------------------------------------------------------------------------
// rvne::read_file on v2 files
// ---------------------------------------------------------------------------

TEST(RvneV2File, GoodTruncatedAndTrailing) {
  aether_test::TempDir dir("rvne_v2_test");
  const rvne::Blob blob = rvne::init_trainable(rvne::v2_benchmark_header(), 9);
  const auto path = dir.path / "m.rvne";
  rvne::write_file(path, blob);
  EXPECT_TRUE(rvne::read_file(path) == blob);
  const Bytes bytes = rvne::serialize(blob);
  auto write = [&](const Bytes& b) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  };
  write(Bytes(bytes.begin(), bytes.end() - 1));
  EXPECT_EQ(aether_test::error_code_of([&] { rvne::read_file(path); }), Errc::truncated);
  write(Bytes(bytes.begin(), bytes.begin() + 100));  // not even the descriptor
  EXPECT_EQ(aether_test::error_code_of([&] { rvne::read_file(path); }), Errc::truncated);
  Bytes longer = bytes;
  longer.push_back(0);
  write(longer);
  const std::string msg = aether_test::error_text(Errc::trailing_bytes, [&] { rvne::read_file(path); });
  EXPECT_NE(msg.find(path.filename().string()), std::string::npos) << msg;
}

}  // namespace rvne_v2_test
