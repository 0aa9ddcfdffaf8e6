// Image formats beyond the unified gzip tarball (squashfs root filesystems,
// every compression), the limits that make hostile images harmless (size
// bombs, device nodes, entries through symlinks), and publishing: an
// instance directory packed into an image that imports and unpacks again.
#include "common/error.hpp"
#include "daemon/db/images.hpp"
#include "daemon/http/multipart.hpp"
#include "daemon/images/publish.hpp"
#include "daemon/images/templates.hpp"
#include "daemon_fixture.hpp"
#include "image_archives.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <cstdio>
#include <fstream>
#include <memory>
#include <set>

namespace lodge::test {
namespace {

namespace fs = std::filesystem;

std::string split_upload(const std::string& meta, const std::string& rootfs, const std::string& part = "rootfs") {
    const std::string b = "im-boundary-0123456789";
    return "--" + b + "\r\nContent-Disposition: form-data; name=\"metadata\"; filename=\"meta.tar.xz\"\r\n\r\n" + meta +
           "\r\n--" + b + "\r\nContent-Disposition: form-data; name=\"" + part +
           "\"; filename=\"rootfs.squashfs\"\r\n\r\n" + rootfs + "\r\n--" + b + "--\r\n";
}

std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every file under root with its size and mtime: what a scan compares.
std::map<std::string, std::pair<std::uintmax_t, long>> tree(const std::string& root) {
    std::map<std::string, std::pair<std::uintmax_t, long>> out;
    for (auto& e : fs::recursive_directory_iterator(root)) {
        struct stat st {};
        ::lstat(e.path().c_str(), &st);
        out[e.path()] = {static_cast<std::uintmax_t>(st.st_size), st.st_mtim.tv_sec * 1000000000L + st.st_mtim.tv_nsec};
    }
    return out;
}

class ImageFormats : public DaemonFixture {
protected:
    nlohmann::json upload(const std::string& body, const std::string& content_type = "application/octet-stream") {
        daemon::Request r;
        r.method = "POST";
        r.path = "/1.0/images";
        r.body = body;
        r.headers["content-type"] = content_type;
        r.trusted = true;
        auto reply = daemon_->router().dispatch(r);
        if (reply.status != 202) return {{"status", "Refused"}, {"err", reply.body}, {"code", reply.status}};
        auto op = nlohmann::json::parse(reply.body);
        auto waited = call("GET", op["operation"].get<std::string>() + "/wait", "", {{"timeout", "60"}});
        return nlohmann::json::parse(waited.body)["metadata"];
    }
    std::string import_ok(const std::string& body, const std::string& type = "application/octet-stream") {
        auto op = upload(body, type);
        EXPECT_EQ(op["status"], "Success") << op.dump();
        return op["metadata"].value("fingerprint", "");
    }
    std::string import_error(const std::string& body, const std::string& type = "application/octet-stream") {
        auto op = upload(body, type);
        EXPECT_EQ(op["status"], "Failure") << op.dump();
        EXPECT_TRUE(fs::is_empty(daemon_->images().dir())) << "a refused image leaves no file";
        return op.value("err", "");
    }
    const std::string multipart = "multipart/form-data; boundary=im-boundary-0123456789";

    // A squashfs of a small root filesystem made with mksquashfs.
    std::string squashfs() {
        const auto src = dir_ + "/sq-src";
        fs::create_directories(src + "/bin");
        fs::create_directories(src + "/home/user");
        fs::create_directories(src + "/dev");
        std::ofstream(src + "/bin/busybox") << "#!binary\n";
        ::chmod((src + "/bin/busybox").c_str(), 04755);
        fs::create_symlink("/bin/busybox", src + "/bin/sh");
        fs::create_hard_link(src + "/bin/busybox", src + "/bin/ash");
        EXPECT_EQ(::chown((src + "/home/user").c_str(), 1000, 1000), 0);
        EXPECT_EQ(::mknod((src + "/dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
        EXPECT_EQ(::mknod((src + "/dev/sda").c_str(), S_IFBLK | 0666, makedev(8, 0)), 0);
        const auto out = dir_ + "/rootfs.squashfs";
        auto cmd = "mksquashfs '" + src + "' '" + out + "' -noappend -quiet -no-progress >/dev/null 2>&1";
        EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
        fs::remove_all(src);
        auto data = read(out);
        fs::remove(out);
        return data;
    }
};

TEST_F(ImageFormats, SplitImageWithASquashfsRootfsImportsUnpacksAndExports) {
    if (::access("/usr/bin/sqfs2tar", X_OK) != 0 || ::access("/usr/bin/mksquashfs", X_OK) != 0)
        GTEST_SKIP() << "squashfs-tools and squashfs-tools-ng are needed (scripts/setup)";
    auto meta = make_tar({{"metadata.yaml", AE_IFREG, default_metadata}}, "xz");
    auto rootfs = squashfs();
    auto fp = import_ok(split_upload(meta, rootfs), multipart);
    EXPECT_EQ(fp, sha256(meta + rootfs));
    const auto dir = dir_ + "/instance";
    fs::create_directories(dir);
    daemon_->images().unpack(fp, dir);
    EXPECT_EQ(read(dir + "/rootfs/bin/busybox"), "#!binary\n");
    EXPECT_EQ(fs::read_symlink(dir + "/rootfs/bin/sh"), "/bin/busybox");
    struct stat st {};
    ASSERT_EQ(::lstat((dir + "/rootfs/bin/ash").c_str(), &st), 0);
    EXPECT_EQ(st.st_nlink, 2u);
    EXPECT_EQ(st.st_mode & 07777, 04755u);
    ASSERT_EQ(::lstat((dir + "/rootfs/home/user").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_TRUE(fs::exists(dir + "/rootfs/dev/null"));
    EXPECT_FALSE(fs::exists(dir + "/rootfs/dev/sda")) << "a disk device node from an image is left out";

    // Exported as LXD exports it: both files, the rootfs named .squashfs.
    auto exported = call("GET", "/1.0/images/" + fp + "/export");
    ASSERT_EQ(exported.status, 200);
    auto parts = daemon::parse_multipart(exported.content_type, exported.body);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].filename, "meta-" + fp + ".tar.xz");
    EXPECT_EQ(parts[1].name, "rootfs");
    EXPECT_EQ(parts[1].filename, fp + ".squashfs");
    EXPECT_TRUE(parts[1].data == rootfs);

    // The other part name LXD's clients use for a rootfs file is accepted too.
    auto op = nlohmann::json::parse(call("DELETE", "/1.0/images/" + fp).body);
    call("GET", op["operation"].get<std::string>() + "/wait");
    EXPECT_EQ(import_ok(split_upload(meta, rootfs, "rootfs.img"), multipart), fp);
}

TEST_F(ImageFormats, SquashfsBombsAreStoppedWhileConverting) {
    if (::access("/usr/bin/sqfs2tar", X_OK) != 0 || ::access("/usr/bin/mksquashfs", X_OK) != 0)
        GTEST_SKIP() << "squashfs-tools and squashfs-tools-ng are needed (scripts/setup)";
    const auto src = dir_ + "/bomb-src";
    fs::create_directories(src);
    fs::resize_file((std::ofstream(src + "/zeros"), src + "/zeros"), 100 << 20);
    const auto out = dir_ + "/bomb.squashfs";
    ASSERT_EQ(std::system(("mksquashfs '" + src + "' '" + out + "' -noappend -quiet -no-progress >/dev/null").c_str()), 0);
    auto bomb = read(out);
    ASSERT_LT(bomb.size(), 1u << 20);
    auto meta = make_tar({{"metadata.yaml", AE_IFREG, default_metadata}});
    daemon_->images().set_max_unpacked_bytes(1 << 20);
    // sqfs2tar is stopped by its file size limit (1 MiB + a margin for tar headers)...
    auto err = import_error(split_upload(meta, bomb), multipart);
    EXPECT_NE(err.find("squashfs unpacks to more than"), std::string::npos) << err;
    // ...and what gets through is counted entry by entry.
    daemon_->images().set_max_unpacked_bytes(90 << 20);
    err = import_error(split_upload(meta, bomb), multipart);
    EXPECT_NE(err.find("Image entry 'rootfs/zeros' makes the image unpack to more than"), std::string::npos) << err;
}

TEST_F(ImageFormats, AnUnreadableSquashfsIsRefused) {
    if (::access("/usr/bin/sqfs2tar", X_OK) != 0) GTEST_SKIP() << "squashfs-tools-ng is needed (scripts/setup)";
    auto meta = make_tar({{"metadata.yaml", AE_IFREG, default_metadata}});
    auto err = import_error(split_upload(meta, "hsqs" + std::string(4096, '\x7f')), multipart);
    EXPECT_NE(err.find("squashfs unreadable"), std::string::npos) << err;
}

TEST_F(ImageFormats, EveryCompressionIsReadAndUnpacked) {
    for (std::string filter : {"gzip", "bzip2", "xz", "zstd", ""}) {
        auto fp = import_ok(make_tar(image_entries(default_metadata + "# " + filter + "\n"), filter));
        const auto dir = dir_ + "/instance-" + filter;
        fs::create_directories(dir);
        daemon_->images().unpack(fp, dir);
        EXPECT_EQ(read(dir + "/rootfs/bin/busybox"), "#!binary\n") << filter;
    }
}

TEST_F(ImageFormats, SizeBombsAreRefusedNamingTheEntry) {
    daemon_->images().set_max_unpacked_bytes(64 << 20);
    auto entries = image_entries();
    entries.push_back({"rootfs/zeros", AE_IFREG, "", 0644, 0, 0, false, {}, 0, 200 << 20});
    auto bomb = make_tar(entries, "zstd");
    ASSERT_LT(bomb.size(), 1u << 20) << "a bomb is small";
    auto err = import_error(bomb);
    EXPECT_EQ(err, "Image entry 'rootfs/zeros' makes the image unpack to more than 67108864 bytes (the image size limit)");
    // The same in a split image's rootfs.
    auto meta = make_tar({{"metadata.yaml", AE_IFREG, default_metadata}});
    auto rootfs = make_tar({{"./big", AE_IFREG, "", 0644, 0, 0, false, {}, 0, 100 << 20}}, "xz");
    err = import_error(split_upload(meta, rootfs), multipart);
    EXPECT_NE(err.find("'rootfs/big'"), std::string::npos) << err;
    // Under the limit it is an image like any other.
    daemon_->images().set_max_unpacked_bytes(300 << 20);
    EXPECT_EQ(import_ok(bomb).size(), 64u);
}

TEST_F(ImageFormats, DeviceNodesOtherThanTheStandardOnesAreLeftOut) {
    auto entries = image_entries();
    entries.push_back({"rootfs/dev/sda", AE_IFBLK, "", 0666, 0, 0, false, {}, makedev(8, 0)});
    entries.push_back({"rootfs/dev/mem", AE_IFCHR, "", 0666, 0, 0, false, {}, makedev(1, 1)});
    entries.push_back({"rootfs/dev/zero", AE_IFCHR, "", 0666, 0, 0, false, {}, makedev(1, 5)});
    auto fp = import_ok(make_tar(entries));
    const auto dir = dir_ + "/instance";
    fs::create_directories(dir);
    daemon_->images().unpack(fp, dir);
    EXPECT_TRUE(fs::exists(dir + "/rootfs/dev/null"));
    EXPECT_TRUE(fs::exists(dir + "/rootfs/dev/zero"));
    EXPECT_FALSE(fs::exists(dir + "/rootfs/dev/sda"));
    EXPECT_FALSE(fs::exists(dir + "/rootfs/dev/mem"));
    // A hard link to a left-out node does not bring it back.
    entries.push_back({"rootfs/dev/mem2", AE_IFCHR, "rootfs/dev/mem", 0, 0, 0, true});
    auto fp2 = import_ok(make_tar(entries, "xz"));
    fs::remove_all(dir);
    fs::create_directories(dir);
    EXPECT_THROW(daemon_->images().unpack(fp2, dir), Error);
    EXPECT_TRUE(fs::is_empty(dir));
}

// Acceptance: every hostile archive is refused with its entry named, and a
// scan outside the state directory finds nothing written.
TEST_F(ImageFormats, HostileArchivesAreRefusedByNameAndWriteNothingOutside) {
    char canary_tmpl[] = "/tmp/lodge-im-canary-XXXXXX";
    ASSERT_NE(::mkdtemp(canary_tmpl), nullptr);
    const std::string canary = canary_tmpl;
    struct Remove {
        std::string path;
        ~Remove() { fs::remove_all(path); }
    } remove_canary{canary};
    fs::create_directories(canary + "/etc");
    std::ofstream(canary + "/etc/passwd") << "root:x:0:0\n";
    const auto before = tree(canary);
    const auto rel = fs::relative(canary, dir_).string(); // "../lodge-im-canary-…"
    struct Case {
        std::vector<Entry> extra;
        std::string named;
    };
    std::vector<Case> cases{
        {{{"../lodge-im-pwned", AE_IFREG, "x"}}, "'../lodge-im-pwned' leaves the image"},
        {{{"/tmp/lodge-im-pwned-abs", AE_IFREG, "x"}}, "'/tmp/lodge-im-pwned-abs' leaves the image"},
        {{{"rootfs/../../" + rel + "/pwned", AE_IFREG, "x"}}, "leaves the image"},
        {{{"rootfs/link", AE_IFLNK, canary}, {"rootfs/link/pwned", AE_IFREG, "x"}},
         "'rootfs/link/pwned' is written through the symlink 'rootfs/link'"},
        {{{"rootfs/up", AE_IFLNK, "../../" + rel}, {"rootfs/up/etc/passwd", AE_IFREG, "pwned"}},
         "'rootfs/up/etc/passwd' is written through the symlink 'rootfs/up'"},
        {{{"rootfs/hl", AE_IFREG, canary + "/etc/passwd", 0644, 0, 0, true}}, "hard link '" + canary + "/etc/passwd'"},
        {{{"rootfs/hl", AE_IFREG, "rootfs/../../" + rel + "/etc/passwd", 0644, 0, 0, true}}, "hard link"},
        {{{"rootfs/link", AE_IFLNK, canary + "/etc"}, {"rootfs/hl", AE_IFREG, "rootfs/link/passwd", 0644, 0, 0, true}},
         "hard link target 'rootfs/link/passwd' is written through the symlink 'rootfs/link'"},
        {{{"templates/x.tpl", AE_IFLNK, canary + "/etc/passwd"}}, "'templates/x.tpl' must be a file or a directory"},
        {{{"templates", AE_IFLNK, canary}}, "'templates' must be a file or a directory"},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        auto entries = image_entries();
        entries.insert(entries.end(), cases[i].extra.begin(), cases[i].extra.end());
        auto err = import_error(make_tar(entries));
        EXPECT_NE(err.find(cases[i].named), std::string::npos) << "case " << i << ": " << err;
    }
    // rootfs/ and metadata.yaml themselves as symlinks, and an unbounded metadata.yaml.
    auto no_rootfs = image_entries();
    no_rootfs.erase(no_rootfs.begin() + 3, no_rootfs.end());
    auto with = [&](std::vector<Entry> base, Entry e) {
        base.push_back(std::move(e));
        return base;
    };
    EXPECT_NE(import_error(make_tar(with(no_rootfs, {"rootfs", AE_IFLNK, canary}))).find("'rootfs' must be a directory"),
              std::string::npos);
    auto no_metadata = image_entries();
    no_metadata.erase(no_metadata.begin());
    EXPECT_NE(import_error(make_tar(with(no_metadata, {"metadata.yaml", AE_IFLNK, canary + "/etc/passwd"})))
                  .find("'metadata.yaml' must be a file"),
              std::string::npos);
    auto huge = default_metadata + "# " + std::string(2 << 20, 'x') + "\n";
    EXPECT_NE(import_error(make_tar(image_entries(huge))).find("'metadata.yaml' is too large"), std::string::npos);

    // The scan: the canary tree as it was, and no file an archive named.
    EXPECT_EQ(tree(canary), before);
    for (const char* p : {"/lodge-im-pwned", "/tmp/lodge-im-pwned", "/tmp/lodge-im-pwned-abs", "/pwned"})
        EXPECT_FALSE(fs::exists(p)) << p;
    EXPECT_FALSE(fs::exists(fs::path(dir_).parent_path() / "lodge-im-pwned"));
    EXPECT_TRUE(daemon_->with_db([](daemon::db::Database& db) { return daemon::db::image_fingerprints(db); }).empty());
}

// The sequence instance creation follows: unpack the image, then apply its
// templates for "create"; "start" ones wait for the start.
TEST_F(ImageFormats, UnpackedImageTemplatesApplyToTheNewInstance) {
    auto entries = image_entries(default_metadata +
                                 "templates:\n  /etc/hostname:\n    when: [create, copy]\n    template: hostname.tpl\n"
                                 "  /etc/hosts:\n    when: [start]\n    template: hostname.tpl\n");
    auto fp = import_ok(make_tar(entries));
    const auto dir = dir_ + "/instance";
    fs::create_directories(dir);
    daemon_->images().unpack(fp, dir);
    daemon::TemplateInstance instance;
    instance.name = "im-new";
    EXPECT_EQ(daemon::apply_templates(dir, "create", instance), (std::vector<std::string>{"/etc/hostname"}));
    EXPECT_EQ(read(dir + "/rootfs/etc/hostname"), "im-new\n");
    EXPECT_FALSE(fs::exists(dir + "/rootfs/etc/hosts"));
    struct stat st {};
    ASSERT_EQ(::stat((dir + "/rootfs/etc").c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
}

// publish's packing: an instance directory (as a stopped container leaves
// it) into an image that the store takes and unpacks again.
TEST_F(ImageFormats, PackedInstanceImportsAndUnpacksAsItWas) {
    const auto src = dir_ + "/src";
    fs::create_directories(src + "/rootfs/etc");
    fs::create_directories(src + "/rootfs/home/user");
    fs::create_directories(src + "/templates");
    std::ofstream(src + "/rootfs/etc/marker") << "changed";
    fs::create_hard_link(src + "/rootfs/etc/marker", src + "/rootfs/etc/marker2");
    fs::create_symlink("/etc/shadow", src + "/rootfs/etc/shadow-link"); // kept as a link, never followed
    ASSERT_EQ(::chown((src + "/rootfs/home/user").c_str(), 1000, 1000), 0);
    ASSERT_EQ(::mkfifo((src + "/rootfs/etc/fifo").c_str(), 0600), 0);
    std::ofstream(src + "/templates/hostname.tpl") << "{{ container.name }}\n";
    std::ofstream(src + "/metadata.yaml") << default_metadata
                                          << "templates:\n  /etc/hostname:\n    when: [create]\n    template: hostname.tpl\n";
    daemon::PackOptions options;
    options.compression = "xz";
    options.properties = std::map<std::string, std::string>{{"os", "golden"}};
    std::string written;
    auto stored = daemon_->images().add_written([&](int fd) {
        written = daemon::pack_instance(src, options, fd);
        return written;
    });
    EXPECT_EQ(stored.fingerprint, written);
    const auto file = daemon_->images().file(written);
    EXPECT_EQ(sha256(file), written);
    EXPECT_EQ(file.compare(0, 6, "\xfd" "7zXZ\0", 6), 0) << "xz";
    EXPECT_EQ(stored.size, static_cast<std::int64_t>(file.size()));
    EXPECT_EQ(stored.properties, (std::map<std::string, std::string>{{"os", "golden"}}));
    const auto dir = dir_ + "/instance";
    fs::create_directories(dir);
    daemon_->images().unpack(written, dir);
    EXPECT_EQ(read(dir + "/rootfs/etc/marker"), "changed");
    EXPECT_EQ(fs::hard_link_count(dir + "/rootfs/etc/marker"), 2u);
    EXPECT_EQ(fs::read_symlink(dir + "/rootfs/etc/shadow-link"), "/etc/shadow");
    EXPECT_TRUE(fs::is_fifo(dir + "/rootfs/etc/fifo"));
    struct stat st {};
    ASSERT_EQ(::lstat((dir + "/rootfs/home/user").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(read(dir + "/templates/hostname.tpl"), "{{ container.name }}\n");
    auto meta = read(dir + "/metadata.yaml");
    EXPECT_NE(meta.find("os: golden"), std::string::npos) << meta;
    EXPECT_NE(meta.find("/etc/hostname"), std::string::npos) << meta;
    EXPECT_EQ(meta.find("busybox"), std::string::npos) << "properties are replaced, as LXD does";

    // Each compression of the fixed list works; anything else is refused by name.
    for (std::string c : {"gzip", "bzip2", "zstd", "none", ""}) {
        options.compression = c;
        options.properties = std::map<std::string, std::string>{{"c", c}};
        std::string fp;
        auto got = daemon_->images().add_written([&](int fd) { return fp = daemon::pack_instance(src, options, fd); });
        EXPECT_EQ(got.fingerprint, fp) << c;
    }
    // A writer whose digest is not the file's: nothing is kept.
    EXPECT_THROW(daemon_->images().add_written([&](int fd) {
        daemon::pack_instance(src, options, fd);
        return std::string(64, 'a');
    }),
                 Error);
    for (const auto& e : fs::directory_iterator(daemon_->images().dir()))
        EXPECT_NE(e.path().filename().string().rfind(".upload", 0), 0u) << "left behind: " << e.path();
    options.compression = "--use-compress-program=sh";
    try {
        daemon::pack_instance(src, options, -1);
        ADD_FAILURE() << "an unknown compression was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_NE(std::string(e.what()).find("'--use-compress-program=sh'"), std::string::npos);
    }
}

// Packs into a scratch file, for the refusals below.
std::string pack(const std::string& src, const daemon::PackOptions& options) {
    std::unique_ptr<FILE, decltype(&std::fclose)> f(std::tmpfile(), std::fclose);
    return daemon::pack_instance(src, options, fileno(f.get()));
}

TEST_F(ImageFormats, PackingRefusesSymlinkedInstanceParts) {
    const auto src = dir_ + "/src";
    fs::create_directories(dir_ + "/elsewhere/rootfs");
    fs::create_directories(src);
    fs::create_symlink(dir_ + "/elsewhere/rootfs", src + "/rootfs");
    EXPECT_THROW(pack(src, {}), Error);
    fs::remove(src + "/rootfs");
    fs::create_directories(src + "/rootfs");
    std::ofstream(dir_ + "/elsewhere/metadata.yaml") << default_metadata;
    fs::create_symlink(dir_ + "/elsewhere/metadata.yaml", src + "/metadata.yaml");
    try {
        pack(src, {});
        ADD_FAILURE() << "a symlinked metadata.yaml was read";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("metadata.yaml is not a regular file"), std::string::npos) << e.what();
    }
    fs::remove(src + "/metadata.yaml");
    fs::create_symlink(dir_ + "/elsewhere", src + "/templates");
    EXPECT_THROW(pack(src, {}), Error);
    fs::remove(src + "/templates");
    // No metadata.yaml: one is written with the architecture given.
    daemon::PackOptions options;
    options.architecture = "x86_64";
    auto stored = daemon_->images().add_written([&](int fd) { return daemon::pack_instance(src, options, fd); });
    EXPECT_EQ(stored.architecture, "x86_64");
}

} // namespace
} // namespace lodge::test
