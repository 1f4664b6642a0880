#pragma once
/// \file datagram.hpp
/// The nodes' UDP datagrams (spec: PACKETS.md) -> one typed record each.
///
/// `parse_datagram(bytes, size)` gives every datagram exactly one
/// `Outcome`: a decoded kind (its record filled in `Datagram`) or a refusal
/// for one named reason. It never reads outside `[bytes, bytes + size)`,
/// never allocates and never throws: core-safe like the featuriser
/// (standard library only, no JSON, no Eigen).
///
/// Outcome names (`outcome_name`, used in csi_live's summary):
///   decoded: raw_csi, vitals, features, fused_vitals, module_events,
///            compressed_csi, feature_state, temporal_result, mesh, time_sync;
///   refused: empty (0 bytes), too_short (under 4 bytes, or under the fixed
///            header of its kind), unknown_magic (not one of PACKETS.md's),
///            wrong_length (the size differs from what the fields say:
///            truncated or with bytes past the end), bad_crc (feature state,
///            temporal result, mesh: stored CRC-32 differs), bad_field (a
///            field the layout cannot hold: raw CSI with 0 antennas or 0
///            subcarriers, more than 16 module events, time sync version
///            other than 1).
/// Shared magics (PACKETS.md): 0x...0004 is module events when the u16 at 6
/// equals (size - 8) / 5 (with size - 8 a multiple of 5), else fused vitals
/// (48 bytes); 0x...0007 is a temporal result when 40 bytes with a valid
/// CRC, module events when the u16 rule holds, else refused (bad_crc for 40
/// bytes, wrong_length otherwise).
///
/// Bounds: a raw frame's n_antennas x n_subcarriers pairs are accepted when
/// the datagram holds exactly them (no fixed cap: 306-subcarrier frames).
/// Pointers in a record (`iq`, `events`, `payload`) point into the caller's
/// buffer: valid while it lives. Thread safety: pure function over bytes.
/// Fields are read little-endian byte by byte (any host byte order).

#include <aether/rvne/crc32.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace aether::io {

/// Magics (u32, little-endian on the wire).
inline constexpr std::uint32_t kMagicRawCsi = 0xC5110001u;
inline constexpr std::uint32_t kMagicVitals = 0xC5110002u;
inline constexpr std::uint32_t kMagicFeatures = 0xC5110003u;
inline constexpr std::uint32_t kMagicFusedOrEvents = 0xC5110004u;
inline constexpr std::uint32_t kMagicCompressed = 0xC5110005u;
inline constexpr std::uint32_t kMagicFeatureState = 0xC5110006u;
inline constexpr std::uint32_t kMagicTemporalOrEvents = 0xC5110007u;
inline constexpr std::uint32_t kMagicMesh = 0xC5118100u;
inline constexpr std::uint32_t kMagicTimeSync = 0xC511A110u;

/// Fixed sizes (bytes).
inline constexpr std::size_t kRawCsiHeader = 20;
inline constexpr std::size_t kVitalsSize = 32;
inline constexpr std::size_t kFeaturesSize = 48;
inline constexpr std::size_t kFusedVitalsSize = 48;
inline constexpr std::size_t kModuleEventsHeader = 8;
inline constexpr std::size_t kModuleEventSize = 5;
inline constexpr std::size_t kMaxModuleEvents = 16;
inline constexpr std::size_t kCompressedHeader = 10;
inline constexpr std::size_t kFeatureStateSize = 60;
inline constexpr std::size_t kTemporalResultSize = 40;
inline constexpr std::size_t kMeshHeader = 16;
inline constexpr std::size_t kTimeSyncSize = 32;

/// Where a datagram went: a decoded kind, or a refusal reason.
enum class Outcome : std::uint8_t {
  raw_csi,
  vitals,
  features,
  fused_vitals,
  module_events,
  compressed_csi,
  feature_state,
  temporal_result,
  mesh,
  time_sync,
  // refusals
  empty,
  too_short,
  unknown_magic,
  wrong_length,
  bad_crc,
  bad_field,
};
inline constexpr std::size_t kOutcomeCount = static_cast<std::size_t>(Outcome::bad_field) + 1;

/// True for the decoded kinds.
constexpr bool decoded(Outcome o) noexcept { return o < Outcome::empty; }

/// The outcome's name (the list in the file comment).
constexpr const char* outcome_name(Outcome o) noexcept {
  constexpr const char* kNames[kOutcomeCount] = {
      "raw_csi", "vitals",    "features",      "fused_vitals", "module_events", "compressed_csi",
      "feature_state", "temporal_result", "mesh", "time_sync", "empty", "too_short",
      "unknown_magic", "wrong_length", "bad_crc", "bad_field"};
  const auto i = static_cast<std::size_t>(o);
  return i < kOutcomeCount ? kNames[i] : "?";
}

/// 0xC5110001: one CSI frame.
struct RawCsiPacket {
  std::uint8_t node_id = 0, n_antennas = 0;
  std::uint16_t n_subcarriers = 0;
  std::uint32_t frequency_mhz = 0;  ///< 0 = unknown
  std::uint32_t sequence = 0;
  std::int8_t rssi = 0, noise_floor = 0;  ///< dBm
  std::uint8_t ppdu_type = 0, flags = 0;  ///< bytes 18, 19 (0 on older firmware)
  const std::int8_t* iq = nullptr;        ///< n_antennas * n_subcarriers pairs, as sent
  /// I/Q pairs in `iq` (= subcarriers the featuriser sees).
  std::size_t pairs() const noexcept { return std::size_t{n_antennas} * n_subcarriers; }
};

/// 0xC5110002 vitals (bytes 0-27; fused vitals share them).
struct VitalsPacket {
  std::uint8_t node_id = 0, flags = 0;  ///< flags: bit 0 presence, 1 fall, 2 motion
  std::uint16_t breathing_x100 = 0;     ///< breathing bpm x 100
  std::uint32_t heart_rate_x10000 = 0;  ///< heart rate bpm x 10000
  std::int8_t rssi = 0;                 ///< -1, -2 are sentinels
  std::uint8_t n_persons = 0;
  float motion_energy = 0, presence_score = 0;
  std::uint32_t ms_since_boot = 0;
};

/// 0xC5110004 fused vitals (48 bytes).
struct FusedVitalsPacket {
  VitalsPacket vitals;
  std::uint8_t mmwave_type = 0, mmwave_confidence_byte = 0;  ///< bytes 14, 15
  float mmwave_heart_rate = 0, mmwave_breathing_rate = 0, mmwave_distance_cm = 0;
  std::uint8_t targets = 0, confidence = 0;  ///< bytes 40, 41
};

/// 0xC5110003 features.
struct FeaturesPacket {
  std::uint8_t node_id = 0;
  std::uint16_t seq = 0;
  std::int64_t us_since_boot = 0;
  float features[8] = {};
};

/// 0xC5110004 (older) / 0xC5110007 (newer) module events.
struct ModuleEventsPacket {
  std::uint8_t node_id = 0, module_id = 0;
  std::uint16_t n = 0;                   ///< <= kMaxModuleEvents
  const std::uint8_t* events = nullptr;  ///< n x {u8 type, f32 value}: read with event()
  struct Event {
    std::uint8_t type = 0;
    float value = 0;
  };
  Event event(std::size_t i) const noexcept;  ///< i < n
};

/// 0xC5110005 compressed CSI (recognised and counted; not decodable alone).
struct CompressedCsiPacket {
  std::uint8_t node_id = 0, channel = 0;
  std::uint16_t original_length = 0, compressed_length = 0;
  const std::uint8_t* data = nullptr;  ///< compressed_length bytes
};

/// 0xC5110006 feature state (CRC checked).
struct FeatureStatePacket {
  std::uint8_t node_id = 0, mode = 0;
  std::uint16_t seq = 0;
  std::uint64_t us = 0;
  float values[9] = {};
  std::uint16_t quality_flags = 0;
};

/// 0xC5110007 temporal result (draft firmware; CRC checked).
struct TemporalResultPacket {
  std::uint16_t version = 0, n_classes = 0;
  std::uint32_t node_id = 0;
  std::uint64_t us = 0;
  std::uint32_t seq = 0, argmax = 0;
  float values[2] = {};  ///< offsets 28, 32 (unnamed in PACKETS.md)
};

/// 0xC5118100 mesh (CRC over every byte before it).
struct MeshPacket {
  std::uint8_t version = 0, type = 0, role = 0, auth = 0;
  std::uint32_t epoch = 0;
  std::uint16_t payload_length = 0;
  const std::uint8_t* payload = nullptr;
};

/// 0xC511A110 time sync.
struct TimeSyncPacket {
  std::uint8_t node_id = 0, version = 0;
  std::uint16_t flags = 0;
  std::uint64_t local_us = 0, epoch_us = 0;
  std::uint32_t csi_sequence = 0;
};

/// One parsed datagram: `outcome`, and the record of that kind (the others
/// stay default). `magic` is 0 when the datagram is under 4 bytes.
struct Datagram {
  Outcome outcome = Outcome::empty;
  std::uint32_t magic = 0;
  std::size_t size = 0;
  RawCsiPacket raw;
  VitalsPacket vitals;  ///< also bytes 0-27 of fused vitals (in `fused.vitals`)
  FusedVitalsPacket fused;
  FeaturesPacket features;
  ModuleEventsPacket events;
  CompressedCsiPacket compressed;
  FeatureStatePacket state;
  TemporalResultPacket temporal;
  MeshPacket mesh;
  TimeSyncPacket time_sync;
};

namespace detail {

inline std::uint16_t le16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
inline std::uint32_t le32(const std::uint8_t* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
inline std::uint64_t le64(const std::uint8_t* p) noexcept {
  return static_cast<std::uint64_t>(le32(p)) | (static_cast<std::uint64_t>(le32(p + 4)) << 32);
}
inline float lef32(const std::uint8_t* p) noexcept {
  const std::uint32_t bits = le32(p);
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
inline std::int8_t s8(const std::uint8_t* p) noexcept { return static_cast<std::int8_t>(*p); }

/// CRC-32/IEEE over bytes [0, at) equals the u32 stored at `at`.
inline bool crc_ok(const std::uint8_t* d, std::size_t at) noexcept {
  return rvne::crc32(d, at) == le32(d + at);
}

/// Module events layout: the u16 at 6 is the event count the size implies.
inline bool is_module_events(const std::uint8_t* d, std::size_t size) noexcept {
  return size >= kModuleEventsHeader && (size - kModuleEventsHeader) % kModuleEventSize == 0 &&
         le16(d + 6) == (size - kModuleEventsHeader) / kModuleEventSize;
}

inline Outcome parse_events(const std::uint8_t* d, Datagram& g) noexcept {
  ModuleEventsPacket& e = g.events;
  e.node_id = d[4];
  e.module_id = d[5];
  e.n = le16(d + 6);
  if (e.n > kMaxModuleEvents) {
    e = ModuleEventsPacket{};
    return Outcome::bad_field;
  }
  e.events = d + kModuleEventsHeader;
  return Outcome::module_events;
}

inline VitalsPacket vitals_of(const std::uint8_t* d) noexcept {
  VitalsPacket v;
  v.node_id = d[4];
  v.flags = d[5];
  v.breathing_x100 = le16(d + 6);
  v.heart_rate_x10000 = le32(d + 8);
  v.rssi = s8(d + 12);
  v.n_persons = d[13];
  v.motion_energy = lef32(d + 16);
  v.presence_score = lef32(d + 20);
  v.ms_since_boot = le32(d + 24);
  return v;
}

inline Outcome parse_body(const std::uint8_t* d, std::size_t size, Datagram& g) noexcept {
  switch (g.magic) {
    case kMagicRawCsi: {
      if (size < kRawCsiHeader) return Outcome::too_short;
      RawCsiPacket& r = g.raw;
      r.node_id = d[4];
      r.n_antennas = d[5];
      r.n_subcarriers = le16(d + 6);
      if (r.n_antennas == 0 || r.n_subcarriers == 0) {
        r = RawCsiPacket{};
        return Outcome::bad_field;
      }
      // size_t arithmetic: at most 20 + 2 * 255 * 65535, no overflow.
      if (size != kRawCsiHeader + 2 * r.pairs()) {
        r = RawCsiPacket{};
        return Outcome::wrong_length;
      }
      r.frequency_mhz = le32(d + 8);
      r.sequence = le32(d + 12);
      r.rssi = s8(d + 16);
      r.noise_floor = s8(d + 17);
      r.ppdu_type = d[18];
      r.flags = d[19];
      r.iq = reinterpret_cast<const std::int8_t*>(d + kRawCsiHeader);
      return Outcome::raw_csi;
    }
    case kMagicVitals:
      if (size < kVitalsSize) return Outcome::too_short;
      if (size != kVitalsSize) return Outcome::wrong_length;
      g.vitals = vitals_of(d);
      return Outcome::vitals;
    case kMagicFeatures: {
      if (size < kFeaturesSize) return Outcome::too_short;
      if (size != kFeaturesSize) return Outcome::wrong_length;
      FeaturesPacket& f = g.features;
      f.node_id = d[4];
      f.seq = le16(d + 6);
      f.us_since_boot = static_cast<std::int64_t>(le64(d + 8));
      for (std::size_t i = 0; i < 8; ++i) f.features[i] = lef32(d + 16 + 4 * i);
      return Outcome::features;
    }
    case kMagicFusedOrEvents: {
      if (size < kModuleEventsHeader) return Outcome::too_short;
      if (is_module_events(d, size)) return parse_events(d, g);
      if (size != kFusedVitalsSize) return Outcome::wrong_length;
      FusedVitalsPacket& f = g.fused;
      f.vitals = vitals_of(d);
      f.mmwave_type = d[14];
      f.mmwave_confidence_byte = d[15];
      f.mmwave_heart_rate = lef32(d + 28);
      f.mmwave_breathing_rate = lef32(d + 32);
      f.mmwave_distance_cm = lef32(d + 36);
      f.targets = d[40];
      f.confidence = d[41];
      return Outcome::fused_vitals;
    }
    case kMagicCompressed: {
      if (size < kCompressedHeader) return Outcome::too_short;
      CompressedCsiPacket& c = g.compressed;
      c.compressed_length = le16(d + 8);
      if (size != kCompressedHeader + c.compressed_length) {
        c = CompressedCsiPacket{};
        return Outcome::wrong_length;
      }
      c.node_id = d[4];
      c.channel = d[5];
      c.original_length = le16(d + 6);
      c.data = d + kCompressedHeader;
      return Outcome::compressed_csi;
    }
    case kMagicFeatureState: {
      if (size < kFeatureStateSize) return Outcome::too_short;
      if (size != kFeatureStateSize) return Outcome::wrong_length;
      if (!crc_ok(d, 56)) return Outcome::bad_crc;
      FeatureStatePacket& s = g.state;
      s.node_id = d[4];
      s.mode = d[5];
      s.seq = le16(d + 6);
      s.us = le64(d + 8);
      for (std::size_t i = 0; i < 9; ++i) s.values[i] = lef32(d + 16 + 4 * i);
      s.quality_flags = le16(d + 52);
      return Outcome::feature_state;
    }
    case kMagicTemporalOrEvents: {
      if (size == kTemporalResultSize && crc_ok(d, 36)) {
        TemporalResultPacket& t = g.temporal;
        t.version = le16(d + 4);
        t.n_classes = le16(d + 6);
        t.node_id = le32(d + 8);
        t.us = le64(d + 12);
        t.seq = le32(d + 20);
        t.argmax = le32(d + 24);
        t.values[0] = lef32(d + 28);
        t.values[1] = lef32(d + 32);
        return Outcome::temporal_result;
      }
      if (size < kModuleEventsHeader) return Outcome::too_short;
      if (is_module_events(d, size)) return parse_events(d, g);
      return size == kTemporalResultSize ? Outcome::bad_crc : Outcome::wrong_length;
    }
    case kMagicMesh: {
      if (size < kMeshHeader + 4) return Outcome::too_short;
      MeshPacket& m = g.mesh;
      const std::uint16_t p = le16(d + 12);
      if (size != kMeshHeader + p + 4) return Outcome::wrong_length;
      if (!crc_ok(d, size - 4)) return Outcome::bad_crc;
      m.version = d[4];
      m.type = d[5];
      m.role = d[6];
      m.auth = d[7];
      m.epoch = le32(d + 8);
      m.payload_length = p;
      m.payload = d + kMeshHeader;
      return Outcome::mesh;
    }
    case kMagicTimeSync: {
      if (size < kTimeSyncSize) return Outcome::too_short;
      if (size != kTimeSyncSize) return Outcome::wrong_length;
      if (d[5] != 1) return Outcome::bad_field;
      TimeSyncPacket& t = g.time_sync;
      t.node_id = d[4];
      t.version = d[5];
      t.flags = le16(d + 6);
      t.local_us = le64(d + 8);
      t.epoch_us = le64(d + 16);
      t.csi_sequence = le32(d + 24);
      return Outcome::time_sync;
    }
    default:
      return Outcome::unknown_magic;
  }
}

}  // namespace detail

inline ModuleEventsPacket::Event ModuleEventsPacket::event(std::size_t i) const noexcept {
  if (events == nullptr || i >= n) return {};
  const std::uint8_t* p = events + kModuleEventSize * i;
  return {p[0], detail::lef32(p + 1)};
}

/// Parses one datagram of `size` bytes at `bytes` (may be null when size is
/// 0). Exactly one outcome; see the file comment. O(size) (CRC kinds), O(1)
/// otherwise.
inline Datagram parse_datagram(const void* bytes, std::size_t size) noexcept {
  Datagram g;
  g.size = size;
  const auto* d = static_cast<const std::uint8_t*>(bytes);
  if (size == 0 || d == nullptr) {
    g.outcome = Outcome::empty;
    return g;
  }
  if (size < 4) {
    g.outcome = Outcome::too_short;
    return g;
  }
  g.magic = detail::le32(d);
  g.outcome = detail::parse_body(d, size, g);
  return g;
}

/// Bytes of the raw CSI datagram for `r` (20 + 2 * pairs()).
inline std::size_t raw_csi_size(const RawCsiPacket& r) noexcept { return kRawCsiHeader + 2 * r.pairs(); }

/// Writes `r` as a 0xC5110001 datagram (PACKETS.md layout; `r.iq` holds
/// pairs() pairs) into `out` of `capacity` bytes. Returns the bytes written,
/// or 0 when `capacity` is under raw_csi_size(r) or `r.iq` is null with
/// pairs() > 0 (nothing written then).
inline std::size_t encode_raw_csi(const RawCsiPacket& r, std::uint8_t* out, std::size_t capacity) noexcept {
  const std::size_t n = raw_csi_size(r);
  if (out == nullptr || capacity < n || (r.iq == nullptr && r.pairs() > 0)) return 0;
  const auto put32 = [](std::uint8_t* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
  };
  put32(out, kMagicRawCsi);
  out[4] = r.node_id;
  out[5] = r.n_antennas;
  out[6] = static_cast<std::uint8_t>(r.n_subcarriers);
  out[7] = static_cast<std::uint8_t>(r.n_subcarriers >> 8);
  put32(out + 8, r.frequency_mhz);
  put32(out + 12, r.sequence);
  out[16] = static_cast<std::uint8_t>(r.rssi);
  out[17] = static_cast<std::uint8_t>(r.noise_floor);
  out[18] = r.ppdu_type;
  out[19] = r.flags;
  if (r.pairs() > 0) std::memcpy(out + kRawCsiHeader, r.iq, 2 * r.pairs());
  return n;
}

}  // namespace aether::io
