#include <cctype>
#include <set>

#include "parsers.hpp"

namespace meshd::config::detail {

namespace {

constexpr std::string_view http_methods[] = {"GET",   "HEAD",   "POST",   "PUT",
                                             "PATCH", "DELETE", "OPTIONS"};

std::string parse_method(const Node& node, const std::string& path) {
  const std::string expected = "one of " + join(http_methods);
  const std::string& text = scalar_text(node, path, expected);
  // Methods are case-sensitive on the wire, but "get" can only mean GET.
  std::string upper = text;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (auto method : http_methods)
    if (method == upper) return upper;
  fail(node.mark, path + ": expected " + expected + ", got '" + text + "'" +
                      did_you_mean(upper, http_methods));
}

void parse_request(const MapView& map, TestSpec& out) {
  if (const Node* method = map.get("method"))
    out.method = parse_method(*method, map.path("method"));
  if (const Node* path = map.get("path")) {
    out.path = as_string(*path, map.path("path"));
    if (!out.path.starts_with('/'))
      fail(path->mark, map.path("path") + ": must start with '/', got '" + out.path + "'");
  }
  read(map, "headers", out.headers);
  read(map, "body", out.body);
}

void parse_expect(const MapView& map, TestSpec& out) {
  read(map, "status", out.expect_status, 100, 599);
  read(map, "body_contains", out.body_contains);
  if (const Node* latency = map.get("max_latency"))
    out.max_latency = as_duration(*latency, map.path("max_latency"), Duration{1});
}

}  // namespace

std::vector<TestSpec> parse_tests(const Node& node, const std::string& path) {
  if (!node.is_list())
    fail(node.mark, path + ": expected a list of tests, got " + describe(node.kind));
  std::vector<TestSpec> out;
  std::set<std::string> names;
  for (std::size_t i = 0; i < node.items.size(); ++i) {
    const Node& item = node.items[i];
    MapView map(item, path + "[" + std::to_string(i) + "]");
    if (!item.is_map()) fail(item.mark, map.path() + ": expected a map, got nothing");
    TestSpec test;
    const Node* name = map.get("name");
    if (!name) fail(item.mark, map.path() + ": 'name' is missing");
    test.name = as_string(*name, map.path("name"));
    if (test.name.empty()) fail(name->mark, map.path("name") + ": must not be empty");
    if (!names.insert(test.name).second)
      fail(name->mark, map.path("name") + ": another test is already named '" + test.name + "'");
    parse_request(map.child("request"), test);
    parse_expect(map.child("expect"), test);
    out.push_back(std::move(test));
  }
  return out;
}

}  // namespace meshd::config::detail
