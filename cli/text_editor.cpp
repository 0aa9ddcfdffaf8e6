// Running $VISUAL / $EDITOR on a temporary file.
#include "cli/text_editor.hpp"

#include "cli/error.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace lodge::cli {

namespace {

bool on_path(const std::string& program) {
    const char* path = ::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':'))
        if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    return false;
}

std::string pick_editor() {
    for (const char* var : {"VISUAL", "EDITOR"})
        if (const char* e = ::getenv(var); e && *e) return e;
    for (const char* p : {"editor", "vi", "emacs", "nano"})
        if (on_path(p)) return p;
    throw Error("No text editor found, please set the EDITOR environment variable");
}

// The editor command split on white space, as Go's strings.Fields does.
std::vector<std::string> fields(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    std::string word;
    while (in >> word) out.push_back(word);
    return out;
}

// Removes the file when the edit ends, however it ends.
struct TempFile {
    std::string path;
    ~TempFile() {
        if (!path.empty()) ::unlink(path.c_str());
    }
};

} // namespace

std::string edit_text(const std::string& content) {
    const auto editor = fields(pick_editor());
    if (editor.empty()) throw Error("No text editor found, please set the EDITOR environment variable");
    const char* tmp = ::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/lodge_editor_XXXXXX.yaml";
    std::vector<char> name(tmpl.begin(), tmpl.end());
    name.push_back('\0');
    const int fd = ::mkstemps(name.data(), 5); // mode 0600
    if (fd < 0) throw Error("Failed to create a temporary file: " + std::string(std::strerror(errno)));
    TempFile file{name.data()};
    size_t done = 0;
    while (done < content.size()) {
        const auto n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ::close(fd);
            throw Error("Failed to write " + file.path + ": " + std::strerror(errno));
        }
        done += static_cast<size_t>(n);
    }
    ::close(fd);

    const pid_t pid = ::fork();
    if (pid < 0) throw Error("Failed to start the editor: " + std::string(std::strerror(errno)));
    if (pid == 0) {
        std::vector<char*> argv;
        for (const auto& a : editor) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(file.path.data());
        argv.push_back(nullptr);
        ::execvp(argv[0], argv.data());
        _exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw Error(WIFEXITED(status) && WEXITSTATUS(status) == 127 ? "Failed to run the editor \"" + editor[0] + "\""
                                                                    : "The editor \"" + editor[0] + "\" failed");
    std::ifstream in(file.path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace lodge::cli
