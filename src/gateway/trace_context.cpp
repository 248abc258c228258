#include "trace_context.hpp"

#include <algorithm>

namespace meshd::gateway {

namespace {

constexpr std::size_t kTraceparentLength = 55;  // 00-<32>-<16>-<2>

bool lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool all_zero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

// A random id of `words` (1 or 2) 64-bit words as hex into `id`, never all zero
// (W3C: invalid). Written in place: it runs for every request.
void random_id(TraceRandom& random, int words, std::string& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::uint64_t v[2];
  bool zero = true;
  do {
    for (int i = 0; i < words; ++i) zero = (v[i] = random()) == 0 && zero;
  } while (zero);
  id.resize(static_cast<std::size_t>(words) * 16);
  char* out = id.data();
  for (int i = 0; i < words; ++i)
    for (int shift = 60; shift >= 0; shift -= 4) *out++ = kDigits[(v[i] >> shift) & 0xf];
}

}  // namespace

std::string TraceContext::traceparent() const {
  std::string out;
  out.reserve(kTraceparentLength);
  out.append("00-").append(trace_id).push_back('-');
  out.append(parent_id).push_back('-');
  out.append(flags);
  return out;
}

bool valid_traceparent(std::string_view v) {
  if (v.size() < kTraceparentLength) return false;
  auto version = v.substr(0, 2);
  if (!lower_hex(version) || version == "ff") return false;
  // Version 00 is exactly 55 characters; a later version may append
  // "-<more>", which a version-00 reader ignores (W3C 3.2.4).
  if (version == "00" ? v.size() != kTraceparentLength
                      : v.size() > kTraceparentLength && v[kTraceparentLength] != '-')
    return false;
  if (v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  auto trace = v.substr(3, 32), parent = v.substr(36, 16), flags = v.substr(53, 2);
  return lower_hex(trace) && lower_hex(parent) && lower_hex(flags) && !all_zero(trace) &&
         !all_zero(parent);
}

void set_trace(std::string_view incoming, TraceRandom& random, TraceContext& out) {
  if (valid_traceparent(incoming)) {
    out.trace_id.assign(incoming.substr(3, 32));
    out.flags.assign(incoming.substr(53, 2));
  } else {
    random_id(random, 2, out.trace_id);
    out.flags.assign("01");
  }
  random_id(random, 1, out.parent_id);
}

TraceContext trace_for(std::string_view incoming, TraceRandom& random) {
  TraceContext t;
  set_trace(incoming, random, t);
  return t;
}

TraceRandom& thread_trace_random() {
  // Seeded with 256 bits: ids from many meshd processes must not collide.
  thread_local TraceRandom random = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(),
                       device(), device(), device(), device()};
    return TraceRandom(seed);
  }();
  return random;
}

TraceContext trace_for(std::string_view incoming) {
  return trace_for(incoming, thread_trace_random());
}

}  // namespace meshd::gateway
