#pragma once
/// \file aether.hpp
/// Umbrella header: everything in namespace `aether`.
///
/// Components (one concept per header):
/// - error.hpp            `Error`, `Errc`
/// - tensor.hpp           `Tensor3<T>`, `Tensor3View<T>`, `view_of`
/// - sparse_pattern.hpp   `SparseConfig`, `SparsePattern`, `Candidates`
/// - workspace.hpp        `Workspace<T>` (reusable scratch)
/// - dense_attention.hpp  `dense_attention`, `dense_decode`
/// - sparse_attention.hpp `SparseAttention<T>`
/// - kv_cache.hpp         `KvCache<T, Storage>`, `KvCacheF16`
/// - fast_grnn_gate.hpp   `FastGrnnGate<T>`, `GateMode`, `GateOptions` (salience gate, GATE.md)
/// - gate_state.hpp       `GateState<T>` (a gated stream's hidden state and top-k set)
/// - gate_file.hpp        `read_gate_file` (`NAME.gate.f32` weights)
/// - temporal_head.hpp    `TemporalHeadConfig`, `TemporalHead<T>`
/// - temporal_model.hpp   `TemporalModel<T>`, `TemporalStream<T>` (a blob end to end)
/// - stream_pool.hpp      `StreamPool<T>` (many streams, one frame each per call)
/// - node.hpp             `Node`, `NodeConfig` (the sensor node: ring or stream, Errc, caller memory)
/// - arena.hpp            `Arena`, `ArenaAllocator<T>` (caller-supplied memory)
/// - half.hpp             fp16 <-> float conversion (round-to-nearest-even)
/// - rvne.hpp             `rvne::Header`, `rvne::Blob`, `rvne::parse`, ... (umbrella of rvne/:
///                        format, crc32, codec, layout, init, file)
/// Not included here: training (`aether/train.hpp`: `train::train`, `train::evaluate`,
/// `train::AdamW`, the backward passes; inference code need not compile it) and the C ABI
/// (`aether/c/aether.h`, `aether/c/ruv_temporal.h`).

#include <aether/arena.hpp>
#include <aether/dense_attention.hpp>
#include <aether/error.hpp>
#include <aether/fast_grnn_gate.hpp>
#include <aether/gate_file.hpp>
#include <aether/gate_state.hpp>
#include <aether/half.hpp>
#include <aether/kv_cache.hpp>
#include <aether/node.hpp>
#include <aether/rvne.hpp>
#include <aether/sparse_attention.hpp>
#include <aether/sparse_pattern.hpp>
#include <aether/stream_pool.hpp>
#include <aether/temporal_head.hpp>
#include <aether/temporal_model.hpp>
#include <aether/tensor.hpp>
#include <aether/workspace.hpp>
