#include "meshd/registry/instance_store.hpp"
#include "meshd/store/database.hpp"

namespace meshd::registry {
namespace {

class SqliteInstanceStore final : public InstanceStore {
 public:
  explicit SqliteInstanceStore(store::Database& db) : db_(db) {}
  void save_registration(const std::string& id, const std::string& json) override {
    db_.put("registration", id, json);
  }
  void delete_registration(const std::string& id) override { db_.erase("registration", id); }
  std::vector<std::pair<std::string, std::string>> load_registrations() override {
    return db_.load("registration");
  }
  void save_overrides(const std::string& id, const std::string& json) override {
    db_.put("override", id, json);
  }
  void delete_overrides(const std::string& id) override { db_.erase("override", id); }
  std::vector<std::pair<std::string, std::string>> load_overrides() override {
    return db_.load("override");
  }

 private:
  store::Database& db_;
};

}  // namespace

std::unique_ptr<InstanceStore> make_sqlite_instance_store(store::Database& database) {
  return std::make_unique<SqliteInstanceStore>(database);
}

}  // namespace meshd::registry
