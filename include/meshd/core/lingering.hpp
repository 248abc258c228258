#pragma once

#include <chrono>

namespace meshd::core {

/// How both HTTP servers (the API and the gateway) close a connection that
/// may still carry unread input, like nginx's lingering close: half-close,
/// then discard what the client still sends for at most kLingerTime in all,
/// and give up after kLingerPause without a byte. Bounded by time rather
/// than bytes, so a client that writes its whole body before it reads (a
/// 20 MB upload refused with 413) still reads the answer instead of a reset.
inline constexpr std::chrono::seconds kLingerTime{30};
inline constexpr std::chrono::seconds kLingerPause{5};

}  // namespace meshd::core
