#pragma once
/// \file rvne.hpp
/// The `.rvne` weight blob: one temporal-head model's shape and weights in a
/// small, checksummed, little-endian container (format described in
/// docs/rvne-format.md and in rvne/format.hpp). Umbrella header, one concept
/// per part:
///
/// - rvne/format.hpp  constants, `Header`, `Dtype`, little-endian fields, weight elements
/// - rvne/crc32.hpp   `crc32()` (CRC-32/IEEE)
/// - rvne/codec.hpp   `Blob`, `BlobView`, `ParseResult`, `try_parse`, `parse`,
///                    `parse_view`, `validate`, `check_header`, `serialize`
/// - rvne/layout.hpp  `MatrixShape`, `matrix_shape`, `layout_bytes`, `check_layout`
/// - rvne/init.hpp    `init_random` (seeded xorshift64*, the reference generator)
/// - rvne/file.hpp    `read_file`, `write_file` (host only: filesystem, <random>)
///
/// A node (no file system, no exceptions) includes rvne/codec.hpp and
/// rvne/layout.hpp only.

#include <aether/rvne/codec.hpp>
#include <aether/rvne/crc32.hpp>
#include <aether/rvne/file.hpp>
#include <aether/rvne/format.hpp>
#include <aether/rvne/init.hpp>
#include <aether/rvne/layout.hpp>
