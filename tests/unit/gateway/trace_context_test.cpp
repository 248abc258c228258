#include "gateway/trace_context.hpp"

#include <gtest/gtest.h>

#include <set>

namespace meshd::gateway {
namespace {

constexpr std::string_view kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

bool is_lower_hex(const std::string& s, std::size_t n) {
  return s.size() == n && s.find_first_not_of("0123456789abcdef") == std::string::npos &&
         s.find_first_not_of('0') != std::string::npos;
}

TEST(TraceContext, KeepsAValidTraceWithANewSpanPerHop) {
  TraceRandom random(1);
  auto t = trace_for(kValid, random);
  EXPECT_EQ(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(t.flags, "01");
  EXPECT_TRUE(is_lower_hex(t.parent_id, 16));
  EXPECT_NE(t.parent_id, "00f067aa0ba902b7");
  EXPECT_EQ(t.traceparent(), "00-4bf92f3577b34da6a3ce929d0e0e4736-" + t.parent_id + "-01");
  auto again = trace_for(kValid, random);
  EXPECT_EQ(again.trace_id, t.trace_id);
  EXPECT_NE(again.parent_id, t.parent_id);
  // The client's flags go on (not sampled stays not sampled).
  EXPECT_EQ(trace_for("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", random).flags,
            "00");
}

TEST(TraceContext, StartsANewTraceForAnInvalidOne) {
  TraceRandom random(2);
  std::set<std::string> traces;
  for (std::string_view bad : {
           std::string_view(""),
           std::string_view("garbage"),
           std::string_view(
               "00-00000000000000000000000000000000-00f067aa0ba902b7-01"),  // zero trace
           std::string_view(
               "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"),  // zero parent
           std::string_view(
               "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),  // uppercase
           std::string_view(
               "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),  // version ff
           std::string_view(
               "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"),  // short trace
           std::string_view(
               "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01"),  // short parent
           std::string_view(
               "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"),  // short flags
           std::string_view(
               "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"),  // 00 + more
           std::string_view("00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01"),
           std::string_view("0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
       }) {
    EXPECT_FALSE(valid_traceparent(bad)) << bad;
    auto t = trace_for(bad, random);
    EXPECT_TRUE(is_lower_hex(t.trace_id, 32)) << bad;
    EXPECT_TRUE(is_lower_hex(t.parent_id, 16)) << bad;
    EXPECT_EQ(t.flags, "01") << bad;
    EXPECT_NE(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736") << bad;
    traces.insert(t.trace_id);
  }
  EXPECT_EQ(traces.size(), 12u);  // each a new one
}

TEST(TraceContext, ReadsALaterVersionAsVersion00) {
  // W3C 3.2.4: a higher version is parsed as 00, its extra fields ignored.
  EXPECT_TRUE(valid_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
  EXPECT_TRUE(valid_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(valid_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"));
  TraceRandom random(3);
  auto t = trace_for("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", random);
  EXPECT_EQ(t.traceparent().substr(0, 36), "00-4bf92f3577b34da6a3ce929d0e0e4736-");
  EXPECT_EQ(t.traceparent().size(), 55u);
}

TEST(TraceContext, SetTraceReusesItsStrings) {
  TraceRandom random(4);
  TraceContext t;
  set_trace(kValid, random, t);
  EXPECT_EQ(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  set_trace("", random, t);
  EXPECT_NE(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_TRUE(is_lower_hex(t.trace_id, 32));
  EXPECT_TRUE(is_lower_hex(t.parent_id, 16));
  EXPECT_TRUE(valid_traceparent(t.traceparent()));
  EXPECT_TRUE(valid_traceparent(trace_for("").traceparent()));  // the thread's own source
}

}  // namespace
}  // namespace meshd::gateway
