#pragma once

namespace meshd::daemon {

/// meshd's version, from the CMake project version.
inline constexpr const char* kVersion = MESHD_VERSION;

}  // namespace meshd::daemon
