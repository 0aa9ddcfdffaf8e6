// Undo steps for multi-step work (LXD's revert pattern): register an undo
// after each step that succeeded; unless success() is called, they run in
// reverse order when the Reverter goes out of scope.
#pragma once

#include <functional>
#include <vector>

namespace lodge {

class Reverter {
public:
    Reverter() = default;
    Reverter(const Reverter&) = delete;
    Reverter& operator=(const Reverter&) = delete;
    ~Reverter() { fail(); }

    void add(std::function<void()> undo) { steps_.push_back(std::move(undo)); }
    void success() noexcept { steps_.clear(); }

    // Runs the undo steps now, newest first. An undo step must not throw; if
    // one does, the remaining steps still run.
    void fail() noexcept {
        while (!steps_.empty()) {
            auto step = std::move(steps_.back());
            steps_.pop_back();
            try {
                step();
            } catch (...) { // NOLINT: nothing to do but carry on undoing
            }
        }
    }

private:
    std::vector<std::function<void()>> steps_;
};

} // namespace lodge
