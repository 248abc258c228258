#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace meshd::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

/// Builds one Prometheus metric family from values read at scrape time.
/// meshd's metrics are views of state it keeps anyway, so they are
/// assembled when /metrics is asked for rather than updated on every
/// change; prometheus-cpp's TextSerializer writes the exposition.
class FamilyBuilder {
 public:
  FamilyBuilder(std::string name, std::string help, prometheus::MetricType type);

  FamilyBuilder& gauge(const Labels& labels, double value);
  FamilyBuilder& counter(const Labels& labels, double value);
  /// `bounds` are the buckets' upper bounds (ascending); `counts[i]` the
  /// observations in bucket i alone (not cumulative); one more count for +Inf.
  FamilyBuilder& histogram(const Labels& labels, const std::vector<double>& bounds,
                           const std::vector<std::uint64_t>& counts, double sum);

  prometheus::MetricFamily build() { return std::move(family_); }
  bool empty() const { return family_.metric.empty(); }

 private:
  prometheus::ClientMetric& add(const Labels& labels);
  prometheus::MetricFamily family_;
};

/// The exposition text (format 0.0.4) of `families`.
std::string serialize(const std::vector<prometheus::MetricFamily>& families);

}  // namespace meshd::metrics
