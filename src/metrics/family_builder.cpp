#include "meshd/metrics/family_builder.hpp"

#include <prometheus/text_serializer.h>

#include <limits>
#include <sstream>

namespace meshd::metrics {

FamilyBuilder::FamilyBuilder(std::string name, std::string help, prometheus::MetricType type) {
  family_.name = std::move(name);
  family_.help = std::move(help);
  family_.type = type;
}

prometheus::ClientMetric& FamilyBuilder::add(const Labels& labels) {
  prometheus::ClientMetric m;
  for (const auto& [k, v] : labels) m.label.push_back({k, v});
  family_.metric.push_back(std::move(m));
  return family_.metric.back();
}

FamilyBuilder& FamilyBuilder::gauge(const Labels& labels, double value) {
  add(labels).gauge.value = value;
  return *this;
}

FamilyBuilder& FamilyBuilder::counter(const Labels& labels, double value) {
  add(labels).counter.value = value;
  return *this;
}

FamilyBuilder& FamilyBuilder::histogram(const Labels& labels, const std::vector<double>& bounds,
                                        const std::vector<std::uint64_t>& counts, double sum) {
  auto& m = add(labels);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += i < counts.size() ? counts[i] : 0;
    m.histogram.bucket.push_back({cumulative, bounds[i]});
  }
  cumulative += counts.size() > bounds.size() ? counts[bounds.size()] : 0;
  m.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = sum;
  return *this;
}

std::string serialize(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace meshd::metrics
