// The `tests:` block of a service (SPEC section 7).

#include "test_support.hpp"

namespace meshd::config {
namespace {

using testing::load;
using namespace std::chrono_literals;

const std::string head = "services:\n  a:\n    command: x\n    tests:\n";

TEST(TestsBlock, AllFields) {
  auto tests = load(head + R"(      - name: answers health
        request: { method: GET, path: /health }
        expect: { status: 200, body_contains: ok, max_latency: 200ms }
      - name: creates
        request:
          method: POST
          path: /items
          headers: { Content-Type: application/json }
          body: '{"a": 1}'
        expect: { status: 201 }
)")
                   .services[0]
                   .tests;
  ASSERT_EQ(tests.size(), 2u);
  EXPECT_EQ(tests[0].name, "answers health");
  EXPECT_EQ(tests[0].method, "GET");
  EXPECT_EQ(tests[0].path, "/health");
  EXPECT_EQ(tests[0].expect_status, 200);
  EXPECT_EQ(tests[0].body_contains, "ok");
  EXPECT_EQ(tests[0].max_latency, 200ms);
  EXPECT_EQ(tests[1].method, "POST");
  EXPECT_EQ(tests[1].headers.at("Content-Type"), "application/json");
  EXPECT_EQ(tests[1].body, "{\"a\": 1}");
  EXPECT_EQ(tests[1].expect_status, 201);
  EXPECT_FALSE(tests[1].max_latency.has_value());
}

TEST(TestsBlock, MethodIsUppercased) {
  EXPECT_EQ(load(head + "      - {name: t, request: {method: post}}\n").services[0].tests[0].method,
            "POST");
}

TEST(TestsBlock, RequestAndExpectAreOptional) {
  auto test = load(head + "      - name: root\n").services[0].tests.at(0);
  EXPECT_EQ(test.method, "GET");
  EXPECT_EQ(test.path, "/");
  EXPECT_EQ(test.expect_status, 200);
}

TEST(TestsBlock, NameIsRequiredAndUnique) {
  EXPECT_CONFIG_ERROR(head + "      - request: {path: /}\n", 5, 9,
                      "services.a.tests[0]: 'name' is missing");
  EXPECT_CONFIG_ERROR(head + "      - name: t\n      - name: t\n", 6, 15,
                      "services.a.tests[1].name: another test is already named 't'");
  EXPECT_CONFIG_ERROR(head + "      - name: \"\"\n", 5, 15,
                      "services.a.tests[0].name: must not be empty");
}

TEST(TestsBlock, FieldErrors) {
  EXPECT_CONFIG_ERROR(head + "      - {name: t, request: {method: BREW}}\n", 5, 37,
                      "services.a.tests[0].request.method: expected one of GET, HEAD, POST, PUT, "
                      "PATCH, DELETE, OPTIONS, got 'BREW'");
  EXPECT_CONFIG_ERROR(head + "      - {name: t, request: {path: health}}\n", 5, 35,
                      "services.a.tests[0].request.path: must start with '/', got 'health'");
  EXPECT_CONFIG_ERROR(head + "      - {name: t, expect: {status: 700}}\n", 5, 36,
                      "services.a.tests[0].expect.status: expected an integer from 100 to 599, got "
                      "'700'");
  EXPECT_CONFIG_ERROR(head + "      - {name: t, expect: {max_latency: 200}}\n", 5, 41,
                      "services.a.tests[0].expect.max_latency: expected a duration like 250ms, 2s "
                      "or 5m, got '200' (a bare number has no unit)");
  EXPECT_CONFIG_ERROR(head + "      - just a string\n", 5, 9,
                      "services.a.tests[0]: expected a map, got 'just a string'");
  EXPECT_CONFIG_ERROR("services:\n  a: {command: x, tests: {name: t}}\n", 2, 26,
                      "services.a.tests: expected a list of tests, got a map");
}

}  // namespace
}  // namespace meshd::config
