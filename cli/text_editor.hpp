// The user's editor on a temporary file, as lxc's shared.TextEditor runs
// it: $VISUAL, else $EDITOR, else the first of editor, vi, emacs, nano.
#pragma once

#include <string>

namespace lodge::cli {

// Writes content to a private temporary NAME.yaml, runs the editor on it
// with the terminal, returns what the file holds afterwards and removes it.
// Error when no editor is found or the editor fails.
std::string edit_text(const std::string& content);

} // namespace lodge::cli
