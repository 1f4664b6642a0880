// The datagram parser (include/aether/io/datagram.hpp, PACKETS.md): every
// layout decoded from byte-exact vectors written here, every refusal reason,
// exactly one outcome per datagram, the raw frame encoder's bytes.
#include <aether/io/datagram.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <vector>

// This file's own names: the test programs are unity builds (tests/CMakeLists.txt).
namespace datagram_test {

namespace {

using namespace aether::io;
using Bytes = std::vector<std::uint8_t>;

Datagram parse(const Bytes& b) { return parse_datagram(b.data(), b.size()); }

/// Appends a CRC-32/IEEE over every byte so far (little-endian).
void append_crc(Bytes& b) {
  const std::uint32_t c = aether::rvne::crc32(b.data(), b.size());
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(c >> (8 * i)));
}

// 0xC5110001, node 7, 1 antenna, 2 subcarriers, 2437 MHz, sequence
// 0x01020304, RSSI -40, noise -92, PPDU 1, flags 0x11, pairs (1,-2) (3,-4).
const Bytes kRaw = {0x01, 0x00, 0x11, 0xC5, 0x07, 0x01, 0x02, 0x00, 0x85, 0x09, 0x00, 0x00, 0x04, 0x03,
                    0x02, 0x01, 0xD8, 0xA4, 0x01, 0x11, 0x01, 0xFE, 0x03, 0xFC};

TEST(Datagram, RawCsiEveryField) {
  const Datagram g = parse(kRaw);
  ASSERT_EQ(g.outcome, Outcome::raw_csi);
  EXPECT_EQ(g.magic, kMagicRawCsi);
  EXPECT_EQ(g.raw.node_id, 7);
  EXPECT_EQ(g.raw.n_antennas, 1);
  EXPECT_EQ(g.raw.n_subcarriers, 2);
  EXPECT_EQ(g.raw.frequency_mhz, 2437u);
  EXPECT_EQ(g.raw.sequence, 0x01020304u);
  EXPECT_EQ(g.raw.rssi, -40);
  EXPECT_EQ(g.raw.noise_floor, -92);
  EXPECT_EQ(g.raw.ppdu_type, 1);
  EXPECT_EQ(g.raw.flags, 0x11);
  ASSERT_EQ(g.raw.pairs(), 2u);
  ASSERT_EQ(g.raw.iq, reinterpret_cast<const std::int8_t*>(kRaw.data() + 20));
  EXPECT_EQ(g.raw.iq[0], 1);
  EXPECT_EQ(g.raw.iq[1], -2);
  EXPECT_EQ(g.raw.iq[2], 3);
  EXPECT_EQ(g.raw.iq[3], -4);
}

TEST(Datagram, RawCsiSubcarriersBoundByLengthNotACap) {
  // 306 subcarriers (40 MHz), u16 count 0x0132, and 256 (a u8 count reads 0).
  for (const std::uint16_t n : {std::uint16_t{306}, std::uint16_t{256}}) {
    Bytes b = {0x01, 0x00, 0x11, 0xC5, 0x02, 0x01, static_cast<std::uint8_t>(n), static_cast<std::uint8_t>(n >> 8)};
    b.resize(20 + 2 * n, 0x05);
    const Datagram g = parse(b);
    ASSERT_EQ(g.outcome, Outcome::raw_csi) << n;
    EXPECT_EQ(g.raw.n_subcarriers, n);
    EXPECT_EQ(g.size, 20u + 2 * n);
    b.pop_back();  // one byte short of its fields
    EXPECT_EQ(parse(b).outcome, Outcome::wrong_length) << n;
  }
  // Two antennas x 2 subcarriers: 20 + 8 bytes.
  Bytes two = kRaw;
  two[5] = 2;
  EXPECT_EQ(parse(two).outcome, Outcome::wrong_length);
  two.insert(two.end(), {9, 9, 9, 9});
  const Datagram g = parse(two);
  ASSERT_EQ(g.outcome, Outcome::raw_csi);
  EXPECT_EQ(g.raw.pairs(), 4u);
}

TEST(Datagram, RawCsiRefusals) {
  EXPECT_EQ(parse(Bytes(kRaw.begin(), kRaw.begin() + 19)).outcome, Outcome::too_short);  // header cut
  Bytes longer = kRaw;
  longer.push_back(0);
  EXPECT_EQ(parse(longer).outcome, Outcome::wrong_length);  // oversized
  Bytes shorter(kRaw.begin(), kRaw.end() - 1);
  EXPECT_EQ(parse(shorter).outcome, Outcome::wrong_length);  // truncated payload
  Bytes no_ant = kRaw;
  no_ant[5] = 0;
  EXPECT_EQ(parse(no_ant).outcome, Outcome::bad_field);
  Bytes no_sc = kRaw;
  no_sc[6] = 0;
  no_sc.resize(20);
  EXPECT_EQ(parse(no_sc).outcome, Outcome::bad_field);
}

TEST(Datagram, RawCsiEncoderWritesTheSameBytes) {
  const Datagram g = parse(kRaw);
  ASSERT_EQ(g.outcome, Outcome::raw_csi);
  Bytes out(raw_csi_size(g.raw), 0xEE);
  ASSERT_EQ(encode_raw_csi(g.raw, out.data(), out.size()), kRaw.size());
  EXPECT_EQ(out, kRaw);
  Bytes small(kRaw.size() - 1, 0xEE);
  EXPECT_EQ(encode_raw_csi(g.raw, small.data(), small.size()), 0u);
  EXPECT_EQ(small, Bytes(kRaw.size() - 1, 0xEE));  // nothing written
}

// 0xC5110002: node 3, flags 5 (presence, motion), breathing 1520 (15.2 bpm),
// heart 720000 (72 bpm), rssi -1, 2 persons, motion 1.5f, presence 0.25f,
// 123456 ms.
const Bytes kVitals = {0x02, 0x00, 0x11, 0xC5, 0x03, 0x05, 0xF0, 0x05, 0x80, 0xFC, 0x0A, 0x00, 0xFF, 0x02, 0x00, 0x00,
                       0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0x80, 0x3E, 0x40, 0xE2, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};

TEST(Datagram, Vitals) {
  const Datagram g = parse(kVitals);
  ASSERT_EQ(g.outcome, Outcome::vitals);
  EXPECT_EQ(g.vitals.node_id, 3);
  EXPECT_EQ(g.vitals.flags, 5);
  EXPECT_EQ(g.vitals.breathing_x100, 1520);
  EXPECT_EQ(g.vitals.heart_rate_x10000, 720000u);
  EXPECT_EQ(g.vitals.rssi, -1);
  EXPECT_EQ(g.vitals.n_persons, 2);
  EXPECT_EQ(g.vitals.motion_energy, 1.5f);
  EXPECT_EQ(g.vitals.presence_score, 0.25f);
  EXPECT_EQ(g.vitals.ms_since_boot, 123456u);
  EXPECT_EQ(parse(Bytes(kVitals.begin(), kVitals.end() - 1)).outcome, Outcome::too_short);
  Bytes longer = kVitals;
  longer.push_back(0);
  EXPECT_EQ(parse(longer).outcome, Outcome::wrong_length);
}

TEST(Datagram, Features) {
  // node 9, seq 0x0102, us 0x0000000100000002, features 1.0f, -2.0f, 0 x 6.
  Bytes b = {0x03, 0x00, 0x11, 0xC5, 0x09, 0x00, 0x02, 0x01, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
             0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0};
  b.resize(48, 0);
  const Datagram g = parse(b);
  ASSERT_EQ(g.outcome, Outcome::features);
  EXPECT_EQ(g.features.node_id, 9);
  EXPECT_EQ(g.features.seq, 0x0102);
  EXPECT_EQ(g.features.us_since_boot, 0x0000000100000002LL);
  EXPECT_EQ(g.features.features[0], 1.0f);
  EXPECT_EQ(g.features.features[1], -2.0f);
  EXPECT_EQ(g.features.features[7], 0.0f);
  b.push_back(0);
  EXPECT_EQ(parse(b).outcome, Outcome::wrong_length);
}

TEST(Datagram, FusedVitalsAndOlderModuleEventsShareAMagic) {
  // Fused: vitals bytes 0-27 (magic 4), byte 14 sensor type 2, 15 confidence
  // 80, 28 heart 60.0f, 32 breathing 12.0f, 36 distance 150.0f, 40 targets 1,
  // 41 confidence 90.
  Bytes f = kVitals;
  f[0] = 0x04;
  f[14] = 2;
  f[15] = 80;
  f.resize(28);
  f.insert(f.end(), {0x00, 0x00, 0x70, 0x42, 0x00, 0x00, 0x40, 0x41, 0x00, 0x00, 0x16, 0x43, 0x01, 90, 0, 0, 0, 0, 0, 0});
  ASSERT_EQ(f.size(), 48u);
  Datagram g = parse(f);
  ASSERT_EQ(g.outcome, Outcome::fused_vitals);
  EXPECT_EQ(g.fused.vitals.node_id, 3);
  EXPECT_EQ(g.fused.vitals.breathing_x100, 1520);
  EXPECT_EQ(g.fused.vitals.motion_energy, 1.5f);
  EXPECT_EQ(g.fused.mmwave_type, 2);
  EXPECT_EQ(g.fused.mmwave_confidence_byte, 80);
  EXPECT_EQ(g.fused.mmwave_heart_rate, 60.0f);
  EXPECT_EQ(g.fused.mmwave_breathing_rate, 12.0f);
  EXPECT_EQ(g.fused.mmwave_distance_cm, 150.0f);
  EXPECT_EQ(g.fused.targets, 1);
  EXPECT_EQ(g.fused.confidence, 90);
  // Module events (older magic 4): node 5, module 6, n = 2, {1, 0.5f} {2, -1.0f}.
  const Bytes e = {0x04, 0x00, 0x11, 0xC5, 0x05, 0x06, 0x02, 0x00, 0x01, 0x00,
                   0x00, 0x00, 0x3F, 0x02, 0x00, 0x00, 0x80, 0xBF};
  g = parse(e);
  ASSERT_EQ(g.outcome, Outcome::module_events);
  EXPECT_EQ(g.events.node_id, 5);
  EXPECT_EQ(g.events.module_id, 6);
  ASSERT_EQ(g.events.n, 2);
  EXPECT_EQ(g.events.event(0).type, 1);
  EXPECT_EQ(g.events.event(0).value, 0.5f);
  EXPECT_EQ(g.events.event(1).type, 2);
  EXPECT_EQ(g.events.event(1).value, -1.0f);
  // 48 bytes whose u16 at 6 is 8 = (48 - 8) / 5: module events, 8 of them.
  Bytes f8 = f;
  f8[6] = 8;
  f8[7] = 0;
  EXPECT_EQ(parse(f8).outcome, Outcome::module_events);
  // Neither layout's length.
  Bytes odd = f;
  odd.pop_back();
  EXPECT_EQ(parse(odd).outcome, Outcome::wrong_length);
  EXPECT_EQ(parse(Bytes(e.begin(), e.begin() + 7)).outcome, Outcome::too_short);
}

TEST(Datagram, ModuleEventsNewerMagicAndTooMany) {
  Bytes e = {0x07, 0x00, 0x11, 0xC5, 0x05, 0x06, 0x00, 0x00};  // n = 0
  Datagram g = parse(e);
  ASSERT_EQ(g.outcome, Outcome::module_events);
  EXPECT_EQ(g.events.n, 0);
  // 17 events: the length matches the count, the count is over 16.
  Bytes many = {0x07, 0x00, 0x11, 0xC5, 0x05, 0x06, 17, 0x00};
  many.resize(8 + 5 * 17, 0);
  EXPECT_EQ(parse(many).outcome, Outcome::bad_field);
  many[6] = 16;
  EXPECT_EQ(parse(many).outcome, Outcome::wrong_length);  // 16 events need 88 bytes
}

TEST(Datagram, CompressedCsi) {
  const Bytes b = {0x05, 0x00, 0x11, 0xC5, 0x04, 0x0B, 0x80, 0x00, 0x03, 0x00, 0xAA, 0xBB, 0xCC};
  const Datagram g = parse(b);
  ASSERT_EQ(g.outcome, Outcome::compressed_csi);
  EXPECT_EQ(g.compressed.node_id, 4);
  EXPECT_EQ(g.compressed.channel, 11);
  EXPECT_EQ(g.compressed.original_length, 128);
  EXPECT_EQ(g.compressed.compressed_length, 3);
  EXPECT_EQ(g.compressed.data, b.data() + 10);
  EXPECT_EQ(parse(Bytes(b.begin(), b.end() - 1)).outcome, Outcome::wrong_length);
  EXPECT_EQ(parse(Bytes(b.begin(), b.begin() + 9)).outcome, Outcome::too_short);
}

TEST(Datagram, FeatureStateCrc) {
  // node 2, mode 1, seq 0x0304, us 5, values[0] 2.0f, quality 0x8001.
  Bytes b = {0x06, 0x00, 0x11, 0xC5, 0x02, 0x01, 0x04, 0x03, 0x05, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x40};
  b.resize(52, 0);
  b.insert(b.end(), {0x01, 0x80, 0x00, 0x00});
  append_crc(b);
  ASSERT_EQ(b.size(), 60u);
  const Datagram g = parse(b);
  ASSERT_EQ(g.outcome, Outcome::feature_state);
  EXPECT_EQ(g.state.node_id, 2);
  EXPECT_EQ(g.state.mode, 1);
  EXPECT_EQ(g.state.seq, 0x0304);
  EXPECT_EQ(g.state.us, 5u);
  EXPECT_EQ(g.state.values[0], 2.0f);
  EXPECT_EQ(g.state.quality_flags, 0x8001);
  Bytes bad = b;
  bad[20] ^= 1;
  EXPECT_EQ(parse(bad).outcome, Outcome::bad_crc);
  EXPECT_EQ(parse(Bytes(b.begin(), b.end() - 1)).outcome, Outcome::too_short);
}

TEST(Datagram, TemporalResultCrcElseModuleEvents) {
  // version 1, 4 classes, node 0x0A, us 7, seq 9, argmax 2, 0.75f, 1.0f.
  Bytes b = {0x07, 0x00, 0x11, 0xC5, 0x01, 0x00, 0x04, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x07, 0, 0, 0, 0, 0, 0, 0,
             0x09, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x3F, 0x00, 0x00, 0x80, 0x3F};
  append_crc(b);
  ASSERT_EQ(b.size(), 40u);
  const Datagram g = parse(b);
  ASSERT_EQ(g.outcome, Outcome::temporal_result);
  EXPECT_EQ(g.temporal.version, 1);
  EXPECT_EQ(g.temporal.n_classes, 4);
  EXPECT_EQ(g.temporal.node_id, 10u);
  EXPECT_EQ(g.temporal.us, 7u);
  EXPECT_EQ(g.temporal.seq, 9u);
  EXPECT_EQ(g.temporal.argmax, 2u);
  EXPECT_EQ(g.temporal.values[0], 0.75f);
  EXPECT_EQ(g.temporal.values[1], 1.0f);
  Bytes bad = b;
  bad[37] ^= 0xFF;
  EXPECT_EQ(parse(bad).outcome, Outcome::bad_crc);
  EXPECT_EQ(parse(Bytes(b.begin(), b.end() - 2)).outcome, Outcome::wrong_length);
  EXPECT_EQ(parse(Bytes(b.begin(), b.begin() + 6)).outcome, Outcome::too_short);
}

TEST(Datagram, MeshCrcOverEveryByteBefore) {
  // version 1, type 2, role 3, auth 0, epoch 0x10, payload 3 bytes.
  Bytes b = {0x00, 0x81, 0x11, 0xC5, 0x01, 0x02, 0x03, 0x00, 0x10, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0xDE, 0xAD, 0xBE};
  append_crc(b);
  const Datagram g = parse(b);
  ASSERT_EQ(g.outcome, Outcome::mesh);
  EXPECT_EQ(g.mesh.version, 1);
  EXPECT_EQ(g.mesh.type, 2);
  EXPECT_EQ(g.mesh.role, 3);
  EXPECT_EQ(g.mesh.epoch, 0x10u);
  EXPECT_EQ(g.mesh.payload_length, 3);
  EXPECT_EQ(g.mesh.payload, b.data() + 16);
  Bytes bad = b;
  bad[18] ^= 1;  // payload byte: covered by the CRC
  EXPECT_EQ(parse(bad).outcome, Outcome::bad_crc);
  bad = b;
  bad[14] = 1;  // a header byte outside the named fields: covered too
  EXPECT_EQ(parse(bad).outcome, Outcome::bad_crc);
  EXPECT_EQ(parse(Bytes(b.begin(), b.end() - 1)).outcome, Outcome::wrong_length);
  EXPECT_EQ(parse(Bytes(b.begin(), b.begin() + 19)).outcome, Outcome::too_short);
}

TEST(Datagram, TimeSync) {
  Bytes b = {0x10, 0xA1, 0x11, 0xC5, 0x08, 0x01, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0,
             0x02, 0, 0, 0, 0, 0, 0, 0, 0x2A, 0x00, 0x00, 0x00, 0, 0, 0, 0};
  const Datagram g = parse(b);
  ASSERT_EQ(g.outcome, Outcome::time_sync);
  EXPECT_EQ(g.time_sync.node_id, 8);
  EXPECT_EQ(g.time_sync.version, 1);
  EXPECT_EQ(g.time_sync.flags, 1);
  EXPECT_EQ(g.time_sync.local_us, 1u);
  EXPECT_EQ(g.time_sync.epoch_us, 2u);
  EXPECT_EQ(g.time_sync.csi_sequence, 42u);
  Bytes v2 = b;
  v2[5] = 2;
  EXPECT_EQ(parse(v2).outcome, Outcome::bad_field);
  b.push_back(0);
  EXPECT_EQ(parse(b).outcome, Outcome::wrong_length);
}

TEST(Datagram, EmptyShortAndUnknownMagic) {
  EXPECT_EQ(parse_datagram(nullptr, 0).outcome, Outcome::empty);
  EXPECT_EQ(parse(Bytes{}).outcome, Outcome::empty);
  EXPECT_EQ(parse(Bytes{0x01, 0x00, 0x11}).outcome, Outcome::too_short);
  EXPECT_EQ(parse(Bytes{0x08, 0x00, 0x11, 0xC5, 0, 0, 0, 0}).outcome, Outcome::unknown_magic);  // 0xC5110008
  Bytes wrong = kRaw;
  wrong[3] = 0xC6;  // outside the family
  const Datagram g = parse(wrong);
  EXPECT_EQ(g.outcome, Outcome::unknown_magic);
  EXPECT_EQ(g.magic, 0xC6110001u);
}

TEST(Datagram, NamesAreDistinctAndRandomBytesGetOneOutcome) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < kOutcomeCount; ++i) names.insert(outcome_name(static_cast<Outcome>(i)));
  EXPECT_EQ(names.size(), kOutcomeCount);
  EXPECT_EQ(std::string(outcome_name(Outcome::raw_csi)), "raw_csi");
  EXPECT_EQ(std::string(outcome_name(Outcome::wrong_length)), "wrong_length");
  EXPECT_TRUE(decoded(Outcome::time_sync));
  EXPECT_FALSE(decoded(Outcome::empty));
  // Random datagrams with a family magic: each gets a valid outcome, and a
  // decoded raw frame never points past the datagram.
  std::mt19937 rng(5);
  const std::uint32_t magics[] = {kMagicRawCsi, kMagicVitals, kMagicFeatures, kMagicFusedOrEvents, kMagicCompressed,
                                  kMagicFeatureState, kMagicTemporalOrEvents, kMagicMesh, kMagicTimeSync};
  for (int i = 0; i < 20000; ++i) {
    Bytes b(rng() % 80);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (b.size() >= 4) {
      const std::uint32_t m = magics[rng() % 9];
      for (int k = 0; k < 4; ++k) b[static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(m >> (8 * k));
    }
    const Datagram g = parse(b);
    ASSERT_LT(static_cast<std::size_t>(g.outcome), kOutcomeCount);
    if (g.outcome == Outcome::raw_csi) {
      ASSERT_EQ(raw_csi_size(g.raw), b.size());
    }
  }
}

}  // namespace

}  // namespace datagram_test
