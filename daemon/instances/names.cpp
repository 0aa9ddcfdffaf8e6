// Names for instances created without one: two words, as LXD picks them
// ("sure-hen"), so an admin can say them aloud.
#include "daemon/instances/instances.hpp"

#include "common/error.hpp"

#include <sys/random.h>

#include <array>
#include <cstdint>

namespace lodge::daemon {

namespace {

constexpr std::array<const char*, 40> adjectives{
    "able",  "bold",  "brave", "brief", "calm",  "clear", "cool",  "crisp", "deep",  "eager",
    "fair",  "fast",  "fine",  "firm",  "fond",  "free",  "glad",  "good",  "grand", "great",
    "handy", "happy", "keen",  "kind",  "light", "lucky", "merry", "neat",  "noble", "proud",
    "quick", "quiet", "ready", "sharp", "smart", "solid", "sure",  "swift", "tidy",  "warm"};
constexpr std::array<const char*, 40> animals{
    "ant",   "bat",   "bear",  "bee",  "bison", "cat",   "crab",  "crow",  "deer",  "dove",
    "eagle", "eel",   "elk",   "finch", "fox",  "frog",  "goat",  "hare",  "hawk",  "hen",
    "heron", "ibex",  "koala", "lark", "lion",  "llama", "lynx",  "mole",  "moose", "newt",
    "otter", "owl",   "panda", "quail", "raven", "seal", "shrew", "swan",  "toad",  "wolf"};

} // namespace

std::string Instances::pick_name(const std::function<bool(const std::string&)>& taken) {
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::uint16_t r[2];
        if (::getrandom(r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) throw_errno("getrandom");
        std::string name = std::string(adjectives[r[0] % adjectives.size()]) + "-" + animals[r[1] % animals.size()];
        if (!taken(name)) return name;
    }
    throw Error(409, "No free instance name found; give the instance a name");
}

} // namespace lodge::daemon
