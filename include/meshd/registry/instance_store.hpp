#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace meshd::store {
class Database;
}

namespace meshd::registry {

/// Where registered instances and operator overrides are kept so that they
/// survive a restart of meshd. The local SQLite file is the first
/// implementation; a cluster mode would put etcd (leases and watches)
/// behind this same interface, so the registry does not change.
class InstanceStore {
 public:
  virtual ~InstanceStore() = default;
  /// Values are JSON documents (see Registration::to_json, overrides).
  virtual void save_registration(const std::string& id, const std::string& json) = 0;
  virtual void delete_registration(const std::string& id) = 0;
  virtual std::vector<std::pair<std::string, std::string>> load_registrations() = 0;
  virtual void save_overrides(const std::string& id, const std::string& json) = 0;
  virtual void delete_overrides(const std::string& id) = 0;
  virtual std::vector<std::pair<std::string, std::string>> load_overrides() = 0;
};

/// The InstanceStore on meshd's SQLite database (kinds "registration" and
/// "override" of its key-value table).
std::unique_ptr<InstanceStore> make_sqlite_instance_store(store::Database& database);

}  // namespace meshd::registry
