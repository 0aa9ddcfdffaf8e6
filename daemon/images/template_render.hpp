// The part of pongo2 (Django-style templates) that LXD images use in their
// templates/*.tpl: {{ container.name }}, {{ config_get("key", "default") }},
// {{ properties.key }}, {{ x | default:"y" }}, {% if %}/{% elif %}/{% else %}
// with ==, !=, and, or, not, and {# comments #}. Output is not escaped, as
// LXD renders with autoescape off.
#pragma once

#include <map>
#include <string>

namespace lodge::daemon {

struct RenderContext {
    // Plain names ("trigger", "path").
    std::map<std::string, std::string> values;
    // Objects read as name.key ("container" -> {"name": "c1"}).
    std::map<std::string, std::map<std::string, std::string>> objects;
    // What config_get("key", default) looks in.
    std::map<std::string, std::string> config;
};

// Error(400) naming `name` and the line for syntax the subset lacks
// (for loops, unknown filters or functions) or malformed tags.
std::string render_template(const std::string& name, const std::string& source, const RenderContext& context);

} // namespace lodge::daemon
