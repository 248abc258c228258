#include "meshd/registry/registrations.hpp"

#include <gtest/gtest.h>

#include "fakes/fake_prober.hpp"

namespace meshd::registry {
namespace {

using namespace std::chrono_literals;

class MemoryStore final : public CatalogBackend {
 public:
  void set_self(NodeRecord) override {}
  void start(Events) override {}
  void stop(std::function<void()> done) override { done(); }
  void publish(const InstanceRecord&) override {}
  void withdraw(const std::string&) override {}
  void save_registration(const std::string& id, const nlohmann::json& doc) override {
    regs[id] = doc.dump();
  }
  void delete_registration(const std::string& id) override { regs.erase(id); }
  void save_overrides(const std::string& id, const std::string& json) override {
    overrides[id] = json;
  }
  void delete_overrides(const std::string& id) override { overrides.erase(id); }
  const std::string& node_name() const override { return name; }
  std::vector<NodeRecord> nodes() const override { return {}; }
  bool stale() const override { return false; }
  bool clustered() const override { return false; }
  Stats stats() const override { return {}; }
  /// What start() would replay: every stored registration, owned here.
  void replay(Registrations& to) {
    for (const auto& [id, text] : regs) {
      auto doc = nlohmann::json::parse(text, nullptr, false);
      to.stored(id, doc.is_discarded() ? nlohmann::json(text) : doc, name);
    }
  }
  std::string name = "self";
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

TEST(Registrations, DuplicateIdsChangeNothing) {
  Fixture f;
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

TEST(Registrations, RestoreBringsBackWhatWasStoredAndSkipsWhatDoesNotParse) {
  Fixture f;
  ASSERT_TRUE(f.regs->add(f.reg("pg-1")).ok());
  f.store.regs["junk"] = "not json";
  f.store.regs["other"] = R"({"service":"pg","id":"pg-9","address":"127.0.0.1","port":1})";
  f.regs.reset();
  Registry fresh;
  fresh.set_services({"pg"});
  std::swap(f.registry, fresh);
  f.make();
  f.store.replay(*f.regs);
  EXPECT_NE(f.registry.find("pg-1"), nullptr);
  EXPECT_EQ(f.registry.find("pg-9"), nullptr);  // stored under another id
  int skipped = 0;
  for (const auto& e : f.events.recent(0, 100))
    if (e.type == "registry.restore_skipped") ++skipped;
  EXPECT_EQ(skipped, 2);
}

// A registration may create a service that no file declares; it goes
// away with its last instance.
TEST(Registrations, AnUndeclaredServiceExistsWhileItHasARegistration) {
  Fixture f;
  int changes = 0;
  f.regs->on_services_changed = [&] {
    ++changes;
    std::vector<std::string> names{"pg", "api"};
    for (const auto& s : f.regs->services()) names.push_back(s);
    f.registry.set_services(names);
  };
  auto reg = *Registration::from_json(
      {{"service", "llm"}, {"id", "llm-1"}, {"address", "127.0.0.1"}, {"port", 9000}});
  ASSERT_TRUE(f.regs->add(reg).ok());
  EXPECT_EQ(changes, 1);
  ASSERT_TRUE(f.registry.has_service("llm"));
  ASSERT_NE(f.registry.find("llm-1"), nullptr);
  EXPECT_EQ(f.registry.find("llm-1")->health, health::HealthStatus::passing);  // check none
  ASSERT_TRUE(f.regs->remove("llm", "llm-1").ok());
  EXPECT_EQ(changes, 2);
  EXPECT_FALSE(f.registry.has_service("llm"));
}

// In a cluster another node owns some registrations: this node neither
// checks nor shows them itself (the owner publishes the instance), but
// knows their ids and services, and deleting one here deletes it for all.
TEST(Registrations, ARegistrationOwnedByAnotherNodeIsKnownButNotChecked) {
  Fixture f;
  nlohmann::json doc = f.reg("pg-remote").to_json();
  f.regs->stored("pg-remote", doc, "other-node");
  EXPECT_EQ(f.registry.find("pg-remote"), nullptr);
  EXPECT_EQ(f.regs->services().count("pg"), 1u);
  EXPECT_EQ(f.regs->add(f.reg("pg-remote")).error().code, core::ErrorCode::conflict);
  f.store.regs["pg-remote"] = doc.dump();
  ASSERT_TRUE(f.regs->remove("pg", "pg-remote").ok());
  EXPECT_EQ(f.store.regs.count("pg-remote"), 0u);
  EXPECT_TRUE(f.regs->services().empty());
}

// Deleted through another node: the owner stops checking it.
TEST(Registrations, UnstoredStopsTheOwnersCheck) {
  Fixture f;
  ASSERT_TRUE(f.regs->add(f.reg("pg-1")).ok());
  f.regs->unstored("pg-1");
  EXPECT_EQ(f.registry.find("pg-1"), nullptr);
  EXPECT_FALSE(f.regs->has("pg-1"));
  // Our own write echoed back by the catalog changes nothing.
  ASSERT_TRUE(f.regs->add(f.reg("pg-2")).ok());
  auto idx = f.registry.index("pg");
  f.regs->stored("pg-2", f.reg("pg-2").to_json(), "self");
  EXPECT_EQ(f.registry.index("pg"), idx);
}

}  // namespace
}  // namespace meshd::registry
