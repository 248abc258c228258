#include "meshd/metrics/family_builder.hpp"

#include <gtest/gtest.h>

#include "meshd/metrics/process_stats.hpp"

namespace meshd::metrics {
namespace {

TEST(FamilyBuilder, WritesGaugesCountersAndCumulativeHistograms) {
  std::vector<prometheus::MetricFamily> families;
  families.push_back(FamilyBuilder("meshd_x", "An x", prometheus::MetricType::Gauge)
                         .gauge({{"service", "a"}}, 2)
                         .build());
  families.push_back(FamilyBuilder("meshd_y_total", "A y", prometheus::MetricType::Counter)
                         .counter({{"service", "a"}}, 5)
                         .build());
  families.push_back(FamilyBuilder("meshd_z_seconds", "A z", prometheus::MetricType::Histogram)
                         .histogram({{"service", "a"}}, {0.1, 1}, {3, 2, 1}, 4.5)
                         .build());
  auto text = serialize(families);
  EXPECT_NE(text.find("# TYPE meshd_x gauge"), std::string::npos);
  EXPECT_NE(text.find("meshd_x{service=\"a\"} 2"), std::string::npos);
  EXPECT_NE(text.find("meshd_y_total{service=\"a\"} 5"), std::string::npos);
  EXPECT_NE(text.find("meshd_z_seconds_bucket{service=\"a\",le=\"0.1\"} 3"), std::string::npos);
  EXPECT_NE(text.find("meshd_z_seconds_bucket{service=\"a\",le=\"1\"} 5"), std::string::npos);
  EXPECT_NE(text.find("meshd_z_seconds_bucket{service=\"a\",le=\"+Inf\"} 6"), std::string::npos);
  EXPECT_NE(text.find("meshd_z_seconds_count{service=\"a\"} 6"), std::string::npos);
  EXPECT_NE(text.find("meshd_z_seconds_sum{service=\"a\"} 4.5"), std::string::npos);
}

TEST(ProcessStats, ReadsThisProcess) {
  auto s = read_process_stats();
  EXPECT_GT(s.resident_bytes, 1024u * 1024u);
  EXPECT_GE(s.open_fds, 3u);
  EXPECT_GT(s.start_time_seconds, 1.5e9);
  EXPECT_GE(s.threads, 1u);
}

}  // namespace
}  // namespace meshd::metrics
