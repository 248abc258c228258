#include "shell_split.hpp"

namespace meshd::config::detail {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool is_operator(char c) {
  return c == '|' || c == ';' || c == '&' || c == '<' || c == '>' || c == '`';
}

}  // namespace

SplitResult shell_split(std::string_view text) {
  SplitResult result;
  std::string word;
  bool in_word = false;  // distinguishes an empty quoted word ('') from no word
  auto finish_word = [&] {
    if (in_word) result.words.push_back(std::move(word));
    word.clear();
    in_word = false;
  };
  auto error = [&](std::string message) {
    result.words.clear();
    result.error = std::move(message);
    return result;
  };

  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (is_blank(c)) {
      finish_word();
    } else if (c == '\'') {
      auto close = text.find('\'', i + 1);
      if (close == std::string_view::npos) return error("unterminated single quote");
      word.append(text.substr(i + 1, close - i - 1));
      in_word = true;
      i = close;
    } else if (c == '"') {
      in_word = true;
      bool closed = false;
      for (++i; i < text.size(); ++i) {
        if (text[i] == '"') {
          closed = true;
          break;
        }
        if (text[i] == '\\' && i + 1 < text.size()) {
          char next = text[i + 1];
          if (next == '"' || next == '\\' || next == '$' || next == '`') {
            word += next;
            ++i;
            continue;
          }
          if (next == '\n') {
            ++i;
            continue;
          }
        }
        word += text[i];
      }
      if (!closed) return error("unterminated double quote");
    } else if (c == '\\') {
      if (i + 1 == text.size()) return error("a backslash at the end escapes nothing");
      if (text[i + 1] != '\n') {
        word += text[i + 1];
        in_word = true;
      }
      ++i;
    } else if (is_operator(c)) {
      return error(std::string("'") + c +
                   "' is shell syntax, but meshd runs the command without a shell; quote it, "
                   "or use [\"sh\", \"-c\", \"...\"]");
    } else {
      word += c;
      in_word = true;
    }
  }
  finish_word();
  return result;
}

}  // namespace meshd::config::detail
