#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace meshd::gateway {

/// The random source of trace and span ids.
using TraceRandom = std::mt19937_64;

/// W3C Trace Context (https://www.w3.org/TR/trace-context/) for one hop
/// through the gateway: the trace the request belongs to and the span id
/// of this hop, which the instance sees as its parent.
struct TraceContext {
  std::string trace_id;      // 32 lower-case hex digits, not all zero
  std::string parent_id;     // 16 lower-case hex digits, not all zero: this hop's new span id
  std::string flags = "01";  // 2 hex digits: kept from the client, else sampled
  /// "00-<trace_id>-<parent_id>-<flags>", the value sent upstream.
  std::string traceparent() const;
};

/// Whether `value` is a traceparent the gateway keeps: version 00 (or a
/// later one, read as 00, with its extra fields ignored), lower-case hex of
/// the right lengths, ids not all zero, version not ff.
bool valid_traceparent(std::string_view value);

/// The trace context of a request that came with `incoming` (the
/// traceparent header's value; may be empty or invalid): a valid one keeps
/// its trace id and flags, anything else starts a new trace; either way the
/// hop gets a new span id.
TraceContext trace_for(std::string_view incoming, TraceRandom& random);

/// The same into `out`, reusing its strings' storage (no allocation per
/// request once warm).
void set_trace(std::string_view incoming, TraceRandom& random, TraceContext& out);

/// This thread's own random source (seeded once from std::random_device):
/// gateway loops on several threads need no lock.
TraceRandom& thread_trace_random();

/// trace_for() with thread_trace_random().
TraceContext trace_for(std::string_view incoming);

}  // namespace meshd::gateway
