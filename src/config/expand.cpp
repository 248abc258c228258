#include "expand.hpp"

#include <cctype>

#include "field_error.hpp"
#include "meshd/config/graph.hpp"

namespace meshd::config {

namespace detail {

namespace {

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  if (!std::isalpha(static_cast<unsigned char>(name[0])) && name[0] != '_') return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// The index of the '}' closing the "${" at `open`, allowing nested ${...}
// in a default; npos when there is none.
std::size_t closing_brace(std::string_view text, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      ++depth;
      ++i;
    } else if (text[i] == '}' && --depth == 0) {
      return i;
    }
  }
  return std::string_view::npos;
}

// The name part of a reference body "NAME" or "NAME:-default".
std::string_view reference_name(std::string_view body) {
  return body.substr(0, body.find(':'));
}

// True when `text` at `pos` starts a per-instance reference such as "${PORT}"
// or "${PORT:-8080}"; then "$$" before it must survive until instance time.
bool instance_reference_at(std::string_view text, std::size_t pos) {
  if (pos + 1 >= text.size() || text[pos] != '$' || text[pos + 1] != '{') return false;
  auto close = closing_brace(text, pos);
  if (close == std::string_view::npos) return false;
  auto body = text.substr(pos + 2, close - pos - 2);
  auto name = reference_name(body);
  return is_instance_variable(name) &&
         (name.size() == body.size() || body.substr(name.size()).starts_with(":-"));
}

}  // namespace

bool is_instance_variable(std::string_view name) {
  return name == "PORT" || name == "INSTANCE" || name == "SERVICE";
}

std::string expand_variables(std::string_view text, const VariableLookup& lookup, SourceMark mark) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    if (text[i + 1] == '$') {
      // "$${PORT}" stays escaped until instance time, which unescapes it.
      if (instance_reference_at(text, i + 1)) out += '$';
      out += '$';
      ++i;
      continue;
    }
    if (text[i + 1] != '{') {
      out += '$';  // "$HOME" is not expanded: only the braced form is
      continue;
    }
    auto close = closing_brace(text, i);
    if (close == std::string_view::npos)
      fail(mark, "unterminated '${' in '" + std::string(text) + "' (write $$ for a literal $)");
    std::string_view body = text.substr(i + 2, close - i - 2);
    std::string_view name = reference_name(body);
    std::string_view rest = body.substr(name.size());
    if (!valid_name(name) || (!rest.empty() && !rest.starts_with(":-")))
      fail(mark, "malformed reference '${" + std::string(body) +
                     "}'; expected ${NAME} or ${NAME:-default}");
    if (is_instance_variable(name)) {
      out.append(text.substr(i, close - i + 1));
    } else {
      auto value = lookup(std::string(name));
      if (value && !value->empty()) {
        out += *value;
      } else if (!rest.empty()) {
        out += expand_variables(rest.substr(2), lookup, mark);
      }
    }
    i = close;
  }
  return out;
}

void expand_tree(Node& node, const VariableLookup& lookup) {
  switch (node.kind) {
    case Node::Kind::scalar:
      if (node.scalar.find('$') != std::string::npos)
        node.scalar = expand_variables(node.scalar, lookup, node.mark);
      break;
    case Node::Kind::list:
      for (auto& item : node.items) expand_tree(item, lookup);
      break;
    case Node::Kind::map:
      for (auto& entry : node.entries) expand_tree(entry.value, lookup);
      break;
    case Node::Kind::null:
      break;
  }
}

}  // namespace detail

std::string expand_instance_vars(const std::string& text, const InstanceVars& vars) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out += text[i];
      continue;
    }
    if (text.compare(i, 2, "$$") == 0 && detail::instance_reference_at(text, i + 1)) {
      ++i;  // "$${PORT}" is the literal text "${PORT}"
      auto close = detail::closing_brace(text, i);
      out.append(text, i, close - i + 1);
      i = close;
      continue;
    }
    if (!detail::instance_reference_at(text, i)) {
      out += '$';
      continue;
    }
    auto close = detail::closing_brace(text, i);
    std::string_view body = std::string_view(text).substr(i + 2, close - i - 2);
    std::string_view name = detail::reference_name(body);
    std::string value;
    if (name == "PORT") {
      if (vars.port) value = std::to_string(*vars.port);
    } else if (name == "INSTANCE") {
      value = std::to_string(vars.index);
    } else {
      value = vars.service;
    }
    if (value.empty() && body.size() > name.size()) value = body.substr(name.size() + 2);
    out += value;
    i = close;
  }
  return out;
}

}  // namespace meshd::config
