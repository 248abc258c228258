#include "meshd/health/prober.hpp"

#include <cassert>

namespace meshd::health {

std::unique_ptr<Prober> make_prober(const ProbeEnv& env, ProbeTarget target) {
  switch (target.spec.type) {
    case config::CheckType::http:
      return make_http_prober(env, std::move(target));
    case config::CheckType::tcp:
      return make_tcp_prober(env, std::move(target));
    case config::CheckType::exec:
      return make_exec_prober(env, std::move(target));
    case config::CheckType::ttl:
    case config::CheckType::notify:
    case config::CheckType::none:
      return nullptr;  // passive: the instance or the API reports
  }
  assert(false && "a CheckType without a prober decision");
  return nullptr;
}

}  // namespace meshd::health
