#include "meshd/registry/catalog_backend.hpp"
#include "meshd/store/database.hpp"

namespace meshd::registry {
namespace {

// One node, nothing shared: registrations and overrides are rows of
// meshd.db (kinds "registration" and "override") so that they survive a
// restart; this node is the only one and the catalog is never stale.
class SqliteCatalog final : public CatalogBackend {
 public:
  SqliteCatalog(store::Database& db, std::string node) : db_(db) { self_.name = std::move(node); }

  void set_self(NodeRecord self) override {
    self_ = std::move(self);
    self_.self = true;
    self_.state = "alive";
  }

  void start(Events events) override {
    events_ = std::move(events);
    for (const auto& [id, text] : db_.load("override"))
      if (events_.overrides_put) events_.overrides_put(id, text);
    for (const auto& [id, text] : db_.load("registration")) {
      auto doc = nlohmann::json::parse(text, nullptr, false);
      // A row that is not JSON is handed on as such: the registrations
      // skip it with an event naming the reason.
      if (events_.registration_put)
        events_.registration_put(id, doc.is_discarded() ? nlohmann::json(text) : doc, self_.name);
    }
  }
  void stop(std::function<void()> done) override {
    if (done) done();
  }
  void publish(const InstanceRecord&) override {}
  void withdraw(const std::string&) override {}
  void save_registration(const std::string& id, const nlohmann::json& registration) override {
    db_.put("registration", id, registration.dump());
  }
  void delete_registration(const std::string& id) override { db_.erase("registration", id); }
  void save_overrides(const std::string& id, const std::string& overrides_json) override {
    db_.put("override", id, overrides_json);
  }
  void delete_overrides(const std::string& id) override { db_.erase("override", id); }
  const std::string& node_name() const override { return self_.name; }
  std::vector<NodeRecord> nodes() const override { return {self_}; }
  bool stale() const override { return false; }
  bool clustered() const override { return false; }
  Stats stats() const override { return {}; }

 private:
  store::Database& db_;
  NodeRecord self_;
  Events events_;
};

}  // namespace

std::unique_ptr<CatalogBackend> make_sqlite_catalog(store::Database& database, std::string node) {
  return std::make_unique<SqliteCatalog>(database, std::move(node));
}

}  // namespace meshd::registry
