#include "meshd/registry/registrations.hpp"

#include <gtest/gtest.h>

#include "fakes/fake_prober.hpp"

namespace meshd::registry {
namespace {

using namespace std::chrono_literals;

class MemoryStore final : public InstanceStore {
 public:
  void save_registration(const std::string& id, const std::string& json) override {
    regs[id] = json;
  }
  void delete_registration(const std::string& id) override { regs.erase(id); }
  std::vector<std::pair<std::string, std::string>> load_registrations() override {
    return {regs.begin(), regs.end()};
  }
  void save_overrides(const std::string& id, const std::string& json) override {
    overrides[id] = json;
  }
  void delete_overrides(const std::string& id) override { overrides.erase(id); }
  std::vector<std::pair<std::string, std::string>> load_overrides() override {
    return {overrides.begin(), overrides.end()};
  }
  std::map<std::string, std::string> regs, overrides;
};

struct Fixture {
  testing::FakeClock clock;
  testing::FakeScheduler scheduler{clock};
  core::EventBus events{clock};
  Registry registry;
  MemoryStore store;
  std::shared_ptr<testing::FakeProber::Script> script =
      std::make_shared<testing::FakeProber::Script>();
  std::unique_ptr<Registrations> regs;

  Fixture() {
    registry.set_services({"pg", "api"});
    make();
  }
  void make() {
    regs = std::make_unique<Registrations>(
        registry, store, events,
        [this](const health::ProbeTarget& t, health::HealthChecker::OnChange on_change) {
          return std::make_unique<health::HealthChecker>(
              scheduler, t.spec, std::make_unique<testing::FakeProber>(script, clock),
              [] { return 0.0; }, std::move(on_change));
        },
        clock);
  }
  Registration reg(std::string id, std::string type = "tcp") {
    return *Registration::from_json({{"service", "pg"},
                                     {"id", id},
                                     {"address", "127.0.0.1"},
                                     {"port", 5432},
                                     {"check", {{"type", type}}}});
  }
};

TEST(Registrations, AddChecksAndPublishesToTheRegistry) {
  Fixture f;
  ASSERT_TRUE(f.regs->add(f.reg("pg-1")).ok());
  ASSERT_NE(f.registry.find("pg-1"), nullptr);
  EXPECT_EQ(f.registry.find("pg-1")->origin, Origin::registered);
  f.scheduler.advance(1ms);  // the first probe
  EXPECT_EQ(f.registry.find("pg-1")->health, health::HealthStatus::passing);
  EXPECT_EQ(f.store.regs.count("pg-1"), 1u);
}

// A blocking query wakes on every index bump; each bump should be a change
// a client can see.
TEST(Registrations, AnInstanceWithoutACheckAppearsOnceAlreadyPassing) {
  Fixture f;
  auto before = f.registry.index("pg");
  int woken = 0;
  f.registry.watch("pg", before, [&] { ++woken; });
  ASSERT_TRUE(f.regs->add(f.reg("pg-1", "none")).ok());
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(f.registry.find("pg-1")->health, health::HealthStatus::passing);
  auto after = f.registry.index("pg");
  EXPECT_GT(after, before);
  f.scheduler.advance(10s);
  EXPECT_EQ(f.registry.index("pg"), after);  // nothing more to tell
  EXPECT_EQ(f.store.regs.count("pg-1"), 1u);
}

TEST(Registrations, AnInstanceWithACheckIsShownUnknownThenWithItsResult) {
  Fixture f;
  ASSERT_TRUE(f.regs->add(f.reg("pg-1", "tcp")).ok());
  EXPECT_EQ(f.registry.find("pg-1")->health, health::HealthStatus::unknown);
  auto shown = f.registry.index("pg");
  f.scheduler.advance(1ms);  // the first probe passes
  EXPECT_EQ(f.registry.find("pg-1")->health, health::HealthStatus::passing);
  EXPECT_GT(f.registry.index("pg"), shown);
}

TEST(Registrations, UnknownServiceAndDuplicateIdsChangeNothing) {
  Fixture f;
  auto bad = f.reg("x-1");
  bad.service = "nope";
  auto s = f.regs->add(bad);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, core::ErrorCode::not_found);
  ASSERT_TRUE(f.regs->add(f.reg("pg-1")).ok());
  auto idx = f.registry.index("pg");
  auto dup = f.regs->add(f.reg("pg-1", "ttl"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, core::ErrorCode::conflict);
  EXPECT_EQ(f.registry.index("pg"), idx);
  EXPECT_EQ(f.registry.size(), 1u);
  EXPECT_EQ(f.store.regs.size(), 1u);
}

TEST(Registrations, RemoveAndTtl) {
  Fixture f;
  ASSERT_TRUE(f.regs->add(f.reg("pg-ttl", "ttl")).ok());
  ASSERT_TRUE(f.regs->add(f.reg("pg-tcp", "tcp")).ok());
  EXPECT_TRUE(f.regs->pass_ttl("pg", "pg-ttl", "fine").ok());
  EXPECT_EQ(f.registry.find("pg-ttl")->health, health::HealthStatus::passing);
  EXPECT_EQ(f.registry.find("pg-ttl")->health_output, "fine");
  auto wrong = f.regs->pass_ttl("pg", "pg-tcp", "");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, core::ErrorCode::conflict);
  EXPECT_EQ(f.regs->pass_ttl("api", "pg-ttl", "").error().code, core::ErrorCode::not_found);
  f.scheduler.advance(31s);  // past the default ttl of 30s
  EXPECT_EQ(f.registry.find("pg-ttl")->health, health::HealthStatus::critical);
  EXPECT_TRUE(f.regs->remove("pg", "pg-tcp").ok());
  EXPECT_EQ(f.registry.find("pg-tcp"), nullptr);
  EXPECT_EQ(f.store.regs.count("pg-tcp"), 0u);
  EXPECT_EQ(f.regs->remove("pg", "pg-tcp").error().code, core::ErrorCode::not_found);
}

TEST(Registrations, RestoreBringsBackWhatWasStoredAndSkipsWhatNoLongerFits) {
  Fixture f;
  ASSERT_TRUE(f.regs->add(f.reg("pg-1")).ok());
  f.store.regs["gone-1"] = R"({"service":"gone","id":"gone-1","address":"127.0.0.1","port":1})";
  f.store.regs["junk"] = "not json";
  f.regs.reset();
  Registry fresh;
  fresh.set_services({"pg"});
  std::swap(f.registry, fresh);
  f.make();
  f.regs->restore();
  EXPECT_NE(f.registry.find("pg-1"), nullptr);
  EXPECT_EQ(f.registry.find("gone-1"), nullptr);
  int skipped = 0;
  for (const auto& e : f.events.recent(0, 100))
    if (e.type == "registry.restore_skipped") ++skipped;
  EXPECT_EQ(skipped, 2);
}

}  // namespace
}  // namespace meshd::registry
