// Event fan-out: serialize once, deliver outside the lock.
#include "daemon/events.hpp"

#include <vector>

namespace lodge::daemon {

const std::set<std::string>& EventHub::known_types() {
    static const std::set<std::string> types{"operation", "logging", "lifecycle"};
    return types;
}

std::uint64_t EventHub::subscribe(std::set<std::string> types, Sink sink) {
    std::lock_guard lock(mutex_);
    const auto id = next_id_++;
    listeners_.emplace(id, Listener{std::move(types), std::move(sink)});
    return id;
}

void EventHub::unsubscribe(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    listeners_.erase(id);
}

std::size_t EventHub::listeners() {
    std::lock_guard lock(mutex_);
    return listeners_.size();
}

void EventHub::publish(const api::Event& event) {
    std::vector<std::pair<std::uint64_t, Sink>> targets;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, l] : listeners_)
            if (l.types.empty() || l.types.count(event.type)) targets.emplace_back(id, l.sink);
    }
    if (targets.empty()) return;
    const std::string text = nlohmann::json(event).dump();
    for (auto& [id, sink] : targets)
        if (!sink(text)) unsubscribe(id);
}

void EventHub::lifecycle(const std::string& action, const std::string& source, nlohmann::json context) {
    api::Event e;
    e.type = "lifecycle";
    e.timestamp = api::now();
    e.metadata = api::lifecycle_metadata(action, source, std::move(context));
    e.project = "default";
    publish(e);
}

} // namespace lodge::daemon
