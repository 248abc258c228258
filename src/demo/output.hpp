#pragma once
// Private to the demo module: not part of meshd's public headers (include/meshd/).

// Line output for the demo service. Lines go straight to the file
// descriptors with write(2), never through stdio buffers, so that every exit
// path (_exit from a signal or a timer) loses nothing already "printed", and
// a supervisor reading a pipe sees each line as it happens.

#include <cstdint>
#include <string_view>

namespace meshd::demo {

/// Writes `line` and a newline to stdout as one write (lines never mix).
void out_line(std::string_view line);
/// The same for stderr.
void err_line(std::string_view line);

/// Turns on the final "NAME flood wrote N lines" report made by exit_process.
void enable_flood_report(std::string_view name);

/// Writes a block of whole lines to stdout under the same lock as out_line,
/// counting each line for the report as its newline reaches the descriptor
/// (so a block cut short by exit is counted exactly). False when stdout is
/// gone (closed pipe).
bool flood_block(std::string_view block);

/// Ends the process at once with `code`, after the flood report if any.
/// _exit, not exit: other threads are still running and must not see
/// static destructors.
[[noreturn]] void exit_process(int code);

}  // namespace meshd::demo
