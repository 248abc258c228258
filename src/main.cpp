// meshd's entry point: parses the command line and runs the Daemon. Every
// error a user can cause ends here as one line on stderr and a non-zero
// exit code.
#include <iostream>

#include "daemon/cli.hpp"
#include "daemon/daemon.hpp"
#include "daemon/version.hpp"
#include "meshd/config/graph.hpp"
#include "meshd/config/loader.hpp"

namespace {

int validate(const meshd::daemon::ValidateOptions& options) {
  meshd::config::LoadOptions load;
  load.environment = options.environment;
  auto cfg = meshd::config::load_file(options.config_path, load);
  std::cout << options.config_path << ": valid, " << cfg.services.size() << " services"
            << (cfg.environment.empty() ? "" : ", environment " + cfg.environment) << "\n";
  std::cout << "start order:\n";
  int n = 1;
  for (const auto& wave : meshd::config::start_waves(cfg)) {
    std::cout << "  wave " << n++ << ":";
    for (std::size_t i = 0; i < wave.size(); ++i) std::cout << (i ? ", " : " ") << wave[i];
    std::cout << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto command = meshd::daemon::parse_command_line(args);
  try {
    if (auto* usage_error = std::get_if<meshd::daemon::UsageError>(&command)) {
      std::cerr << "meshd: " << usage_error->message << "\n" << meshd::daemon::usage();
      return 2;
    }
    if (auto* help = std::get_if<meshd::daemon::HelpCommand>(&command)) {
      std::cout << help->text;
      return 0;
    }
    if (std::holds_alternative<meshd::daemon::VersionCommand>(command)) {
      std::cout << "meshd " << meshd::daemon::kVersion << "\n";
      return 0;
    }
    if (auto* v = std::get_if<meshd::daemon::ValidateOptions>(&command)) return validate(*v);
    meshd::daemon::Daemon daemon(std::get<meshd::daemon::RunOptions>(command));
    return daemon.run();
  } catch (const meshd::config::ConfigError& e) {
    std::cerr << "meshd: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "meshd: " << e.what() << "\n";
    return 1;
  }
}
