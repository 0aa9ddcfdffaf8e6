// The image store and /1.0/images: uploads and their fingerprints, the
// image and alias objects against LXD's, bad uploads, and hostile tarballs
// that must neither be accepted nor unpack outside the instance directory.
#include "common/error.hpp"
#include "daemon/db/images.hpp"
#include "daemon/http/multipart.hpp"
#include "daemon_fixture.hpp"
#include "image_archives.hpp"
#include "reference.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <vector>

namespace lodge::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class Images : public DaemonFixture {
protected:
    daemon::HttpResponse upload(const std::string& body, std::map<std::string, std::string> headers = {}) {
        daemon::Request r;
        r.method = "POST";
        r.path = "/1.0/images";
        r.body = body;
        r.headers = std::move(headers);
        if (!r.headers.count("content-type")) r.headers["content-type"] = "application/octet-stream";
        r.trusted = true;
        return daemon_->router().dispatch(r);
    }

    // Uploads and waits: the finished operation.
    nlohmann::json import(const std::string& body, std::map<std::string, std::string> headers = {}) {
        auto reply = upload(body, std::move(headers));
        EXPECT_EQ(reply.status, 202) << reply.body;
        auto op = nlohmann::json::parse(reply.body);
        auto waited = call("GET", op["operation"].get<std::string>() + "/wait", "", {{"timeout", "30"}});
        EXPECT_EQ(waited.status, 200) << waited.body;
        return nlohmann::json::parse(waited.body)["metadata"];
    }

    std::string import_ok(const std::string& body, std::map<std::string, std::string> headers = {}) {
        auto op = import(body, std::move(headers));
        EXPECT_EQ(op["status"], "Success") << op.dump();
        return op["metadata"].value("fingerprint", "");
    }

    std::string import_error(const std::string& body, std::map<std::string, std::string> headers = {}) {
        auto op = import(body, std::move(headers));
        EXPECT_EQ(op["status"], "Failure") << op.dump();
        EXPECT_TRUE(images_in_db().empty());
        return op.value("err", "");
    }

    std::vector<std::string> images_in_db() {
        return daemon_->with_db([](daemon::db::Database& db) { return daemon::db::image_fingerprints(db); });
    }

    // The instance directory a test unpacks into, under the fixture's dir.
    std::string instance_dir() {
        auto dir = dir_ + "/instance";
        fs::create_directories(dir);
        return dir;
    }

    // Puts a tarball into the store as if it had been accepted: unpack()
    // must not rely on the upload's checks.
    std::string plant(const std::string& tar) {
        auto fp = sha256(tar);
        std::ofstream(daemon_->images().dir() + "/" + fp) << tar;
        return fp;
    }
};

TEST_F(Images, UploadGivesTheSha256FingerprintAndLxdsObject) {
    auto tar = make_tar(image_entries());
    auto fp = import_ok(tar, {{"x-lxd-filename", "bb.tar.gz"}, {"x-lxd-properties", "release=1.36&os=bb+box"}});
    EXPECT_EQ(fp, sha256(tar));
    EXPECT_TRUE(fs::exists(daemon_->images().dir() + "/" + fp));
    // The decompressed tar is kept beside a compressed image for fast unpacking.
    EXPECT_TRUE(fs::exists(daemon_->images().dir() + "/" + fp + ".tar"));

    auto list = nlohmann::json::parse(call("GET", "/1.0/images").body);
    EXPECT_TRUE(same_shape(list, load_reference("images-list.json")));
    EXPECT_EQ(list["metadata"], nlohmann::json::array({"/1.0/images/" + fp}));

    // A prefix names the image as well as the whole fingerprint.
    auto reply = call("GET", "/1.0/images/" + fp.substr(0, 12));
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto image = nlohmann::json::parse(reply.body);
    EXPECT_TRUE(same_shape(image, load_reference("image.json"), {".metadata.properties"}));
    auto& m = image["metadata"];
    EXPECT_EQ(m["fingerprint"], fp);
    EXPECT_EQ(m["size"], tar.size());
    EXPECT_EQ(m["filename"], "bb.tar.gz");
    EXPECT_EQ(m["architecture"], "x86_64");
    EXPECT_EQ(m["created_at"], "2025-11-24T16:00:00Z");
    EXPECT_EQ(m["expires_at"], "1970-01-01T00:00:00Z");
    EXPECT_EQ(m["last_used_at"], "0001-01-01T00:00:00Z");
    EXPECT_EQ(m["properties"], (nlohmann::json{{"description", "Test image"}, {"os", "bb box"}, {"release", "1.36"}}));
    EXPECT_EQ(m["public"], false);
    EXPECT_EQ(m["aliases"], nlohmann::json::array());

    auto recursive = nlohmann::json::parse(call("GET", "/1.0/images", "", {{"recursion", "1"}}).body);
    EXPECT_EQ(recursive["metadata"][0]["fingerprint"], fp);
}

TEST_F(Images, UploadAnnouncesTheImageAndExportGivesItBack) {
    std::vector<std::string> events;
    std::mutex mutex;
    daemon_->events().subscribe({"lifecycle"}, [&](const std::string& t) {
        std::lock_guard lock(mutex);
        events.push_back(t);
        return true;
    });
    auto tar = make_tar(image_entries());
    auto fp = import_ok(tar);
    auto exported = call("GET", "/1.0/images/" + fp.substr(0, 10) + "/export");
    ASSERT_EQ(exported.status, 200);
    EXPECT_EQ(exported.content_type, "application/octet-stream");
    EXPECT_TRUE(exported.body == tar);
    ASSERT_EQ(exported.headers.size(), 1u);
    EXPECT_EQ(exported.headers[0].second, "inline;filename=" + fp + ".tar.gz");
    auto op = nlohmann::json::parse(call("DELETE", "/1.0/images/" + fp).body);
    call("GET", op["operation"].get<std::string>() + "/wait");
    std::lock_guard lock(mutex);
    ASSERT_EQ(events.size(), 2u);
    auto created = nlohmann::json::parse(events[0])["metadata"];
    EXPECT_EQ(created["action"], "image-created");
    EXPECT_EQ(created["source"], "/1.0/images/" + fp);
    EXPECT_EQ(nlohmann::json::parse(events[1])["metadata"]["action"], "image-deleted");
}

TEST_F(Images, EveryCompressionIsAccepted) {
    for (std::string filter : {"", "xz", "zstd"}) {
        auto meta = default_metadata + "# " + filter + "\n"; // a new fingerprint each
        EXPECT_EQ(import_ok(make_tar(image_entries(meta), filter)).size(), 64u) << filter;
    }
    EXPECT_EQ(images_in_db().size(), 3u);
}

TEST_F(Images, SameImageTwiceIsRefused) {
    auto tar = make_tar(image_entries());
    import_ok(tar);
    auto op = import(tar);
    EXPECT_EQ(op["status"], "Failure");
    EXPECT_NE(op["err"].get<std::string>().find("already exists"), std::string::npos);
    EXPECT_EQ(images_in_db().size(), 1u);
}

TEST_F(Images, SimultaneousUploadsOfOneImageKeepIt) {
    auto tar = make_tar(image_entries());
    auto first = nlohmann::json::parse(upload(tar).body);
    auto second = nlohmann::json::parse(upload(tar).body);
    std::vector<std::string> statuses;
    for (auto& op : {first, second}) {
        auto done = call("GET", op["operation"].get<std::string>() + "/wait", "", {{"timeout", "30"}});
        statuses.push_back(nlohmann::json::parse(done.body)["metadata"]["status"]);
    }
    std::sort(statuses.begin(), statuses.end());
    EXPECT_EQ(statuses, (std::vector<std::string>{"Failure", "Success"}));
    EXPECT_EQ(images_in_db().size(), 1u);
    EXPECT_TRUE(fs::exists(daemon_->images().dir() + "/" + sha256(tar)));
}

TEST_F(Images, FingerprintHeaderMustMatch) {
    auto tar = make_tar(image_entries());
    auto err = import_error(tar, {{"x-lxd-fingerprint", std::string(64, 'a')}});
    EXPECT_NE(err.find("Fingerprints don't match"), std::string::npos) << err;
    EXPECT_EQ(import_ok(tar, {{"x-lxd-fingerprint", sha256(tar)}}), sha256(tar));
}

TEST_F(Images, BadUploadsChangeNothing) {
    EXPECT_NE(import_error("not a tarball at all").find("tarball"), std::string::npos);
    EXPECT_NE(import_error(make_tar({{"rootfs", AE_IFDIR, "", 0755}})).find("metadata.yaml"), std::string::npos);
    EXPECT_NE(import_error(make_tar({{"metadata.yaml", AE_IFREG, default_metadata}})).find("rootfs"),
              std::string::npos);
    EXPECT_NE(import_error(make_tar(image_entries("creation_date: 1\n"))).find("architecture"), std::string::npos);
    EXPECT_NE(import_error(make_tar(image_entries("architecture: pdp11\n"))).find("pdp11"), std::string::npos);
    EXPECT_NE(import_error(make_tar(image_entries("architecture: [x\n"))).find("metadata.yaml"), std::string::npos);
    EXPECT_EQ(upload("").status, 400);
    EXPECT_EQ(upload("{}", {{"content-type", "application/json"}}).status, 501);
    EXPECT_TRUE(fs::is_empty(daemon_->images().dir()));
}

TEST_F(Images, EntriesLeavingTheImageAreRefusedOnUpload) {
    for (std::string name : {"../evil", "/etc/evil", "rootfs/../../evil", "./rootfs/../../../evil"}) {
        auto entries = image_entries();
        entries.push_back({name, AE_IFREG, "x"});
        auto err = import_error(make_tar(entries));
        EXPECT_NE(err.find("leaves the image"), std::string::npos) << name << ": " << err;
    }
    // lodged reads metadata.yaml and templates itself: no symlinks there.
    for (std::string name : {"templates/passwd.tpl", "metadata.yaml"}) {
        auto entries = image_entries();
        if (name == "metadata.yaml") entries.erase(entries.begin());
        entries.push_back({name, AE_IFLNK, "/etc/shadow"});
        auto err = import_error(make_tar(entries));
        EXPECT_NE(err.find("must be a file or a directory"), std::string::npos) << name << ": " << err;
    }
    auto entries = image_entries();
    entries.push_back({"rootfs/shadow", AE_IFREG, "/etc/shadow", 0644, 0, 0, true});
    EXPECT_NE(import_error(make_tar(entries)).find("hard link"), std::string::npos);
    EXPECT_TRUE(fs::is_empty(daemon_->images().dir()));
}

TEST_F(Images, UnpackKeepsOwnershipModesLinksDevicesAndXattrs) {
    auto fp = import_ok(make_tar(image_entries()));
    auto dir = instance_dir();
    daemon_->images().unpack(fp, dir);
    struct stat st {};
    ASSERT_EQ(::lstat((dir + "/rootfs/home/user/file").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_gid, 1000u);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    char note[16] = {};
    EXPECT_EQ(::lgetxattr((dir + "/rootfs/home/user/file").c_str(), "user.note", note, sizeof note), 4);
    EXPECT_STREQ(note, "kept");
    ASSERT_EQ(::lstat((dir + "/rootfs/bin/busybox").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 04755u);
    EXPECT_EQ(st.st_nlink, 2u); // bin/ash is the same file
    EXPECT_EQ(fs::read_symlink(dir + "/rootfs/bin/sh"), "/bin/busybox");
    ASSERT_EQ(::lstat((dir + "/rootfs/dev/null").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(1, 3));
    ASSERT_EQ(::lstat((dir + "/rootfs/tmp").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 01777u);
    // Names are bytes: unpacking (chrooted, no locale) keeps UTF-8 names as they are.
    EXPECT_TRUE(fs::exists(dir + "/rootfs/tmp/caf\xc3\xa9 \xe2\x9c\x93"));
    EXPECT_TRUE(fs::exists(dir + "/metadata.yaml"));
    EXPECT_TRUE(fs::exists(dir + "/templates/hostname.tpl"));
}

TEST_F(Images, UnpackNeverWritesOutsideTheInstance) {
    auto outside = dir_ + "/outside";
    fs::create_directories(outside);
    std::vector<std::vector<Entry>> hostile{
        // A symlink to a directory outside, then a file through it.
        {{"rootfs", AE_IFDIR, "", 0755}, {"rootfs/link", AE_IFLNK, outside}, {"rootfs/link/pwned", AE_IFREG, "x"}},
        {{"rootfs", AE_IFDIR, "", 0755}, {"rootfs/up", AE_IFLNK, "../../outside"}, {"rootfs/up/pwned", AE_IFREG, "x"}},
        // rootfs itself a symlink.
        {{"rootfs", AE_IFLNK, outside}, {"rootfs/pwned", AE_IFREG, "x"}},
        {{"rootfs", AE_IFDIR, "", 0755}, {"rootfs/../../outside/pwned", AE_IFREG, "x"}},
        {{"rootfs", AE_IFDIR, "", 0755}, {outside + "/pwned", AE_IFREG, "x"}},
        {{"rootfs", AE_IFDIR, "", 0755}, {"rootfs/pwned", AE_IFREG, outside + "/victim", 0644, 0, 0, true}},
        {{"rootfs", AE_IFDIR, "", 0755}, {"rootfs/pwned", AE_IFREG, "rootfs/../../outside/victim", 0644, 0, 0, true}},
        // A template that is a symlink to a host file.
        {{"templates", AE_IFDIR, "", 0755}, {"templates/x.tpl", AE_IFLNK, outside + "/victim"}},
    };
    std::ofstream(outside + "/victim") << "victim";
    for (size_t i = 0; i < hostile.size(); ++i) {
        auto fp = plant(make_tar(hostile[i]));
        auto dir = instance_dir();
        try {
            daemon_->images().unpack(fp, dir);
        } catch (const Error&) {
            EXPECT_TRUE(fs::is_empty(dir)) << "case " << i << ": a failed unpack leaves nothing";
        }
        EXPECT_FALSE(fs::exists(outside + "/pwned")) << "case " << i;
        EXPECT_FALSE(fs::is_symlink(dir + "/templates/x.tpl")) << "case " << i;
        EXPECT_EQ(fs::hard_link_count(outside + "/victim"), 1u) << "case " << i;
        fs::remove_all(dir);
    }
    // The rootfs file of a split image gets the same treatment.
    auto fp = plant(make_tar({{"metadata.yaml", AE_IFREG, default_metadata}}));
    std::ofstream(daemon_->images().dir() + "/" + fp + ".rootfs")
        << make_tar({{"link", AE_IFLNK, outside}, {"link/pwned", AE_IFREG, "x"}, {"../pwned", AE_IFREG, "x"}});
    auto dir = instance_dir();
    EXPECT_THROW(daemon_->images().unpack(fp, dir), Error);
    EXPECT_TRUE(fs::is_empty(dir));
    EXPECT_FALSE(fs::exists(outside + "/pwned"));
    EXPECT_FALSE(fs::exists(dir_ + "/pwned"));
}

TEST_F(Images, UnpackOfAnUnknownImageIs404) {
    try {
        daemon_->images().unpack(std::string(64, 'e'), instance_dir());
        FAIL() << "unpacked an unknown image";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 404);
    }
    EXPECT_THROW(daemon_->images().unpack("../../etc", instance_dir()), Error);
}

// A split image as lxc sends it: multipart with the metadata tarball, then
// the rootfs tarball (Go's mime/multipart layout).
std::string split_body(const std::string& meta, const std::string& rootfs, const std::string& rootfs_name = "rootfs") {
    const std::string b = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab";
    return "--" + b + "\r\nContent-Disposition: form-data; name=\"metadata\"; filename=\"meta.tar.gz\"\r\n"
           "Content-Type: application/octet-stream\r\n\r\n" + meta + "\r\n--" + b +
           "\r\nContent-Disposition: form-data; name=\"" + rootfs_name + "\"; filename=\"rootfs.tar.gz\"\r\n"
           "Content-Type: application/octet-stream\r\n\r\n" + rootfs + "\r\n--" + b + "--\r\n";
}
const std::map<std::string, std::string> split_headers{
    {"content-type", "multipart/form-data; boundary=0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"}};

TEST_F(Images, SplitImagesUploadUnpackAndExport) {
    auto meta = make_tar({{"metadata.yaml", AE_IFREG, default_metadata}, {"templates", AE_IFDIR, "", 0755}});
    auto rootfs = make_tar({{".", AE_IFDIR, "", 0755},
                            {"./bin", AE_IFDIR, "", 0755},
                            {"./bin/busybox", AE_IFREG, "#!binary\n", 04755, 0, 0},
                            {"./bin/sh", AE_IFLNK, "/bin/busybox", 0777},
                            {"./home/user", AE_IFDIR, "", 0700, 1000, 1000}});
    auto fp = import_ok(split_body(meta, rootfs), split_headers);
    EXPECT_EQ(fp, sha256(meta + rootfs));
    auto m = nlohmann::json::parse(call("GET", "/1.0/images/" + fp).body)["metadata"];
    EXPECT_EQ(m["size"], meta.size() + rootfs.size());
    EXPECT_EQ(m["filename"], "rootfs.tar.gz");
    EXPECT_TRUE(daemon_->images().is_split(fp));

    auto dir = instance_dir();
    daemon_->images().unpack(fp, dir);
    EXPECT_TRUE(fs::exists(dir + "/metadata.yaml"));
    EXPECT_TRUE(fs::is_directory(dir + "/templates"));
    EXPECT_EQ(fs::read_symlink(dir + "/rootfs/bin/sh"), "/bin/busybox");
    struct stat st {};
    ASSERT_EQ(::stat((dir + "/rootfs/home/user").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1000u);

    auto exported = call("GET", "/1.0/images/" + fp + "/export");
    ASSERT_EQ(exported.status, 200);
    EXPECT_EQ(exported.content_type.rfind("multipart/form-data; boundary=", 0), 0u);
    auto parts = daemon::parse_multipart(exported.content_type, exported.body);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].name, "metadata");
    EXPECT_TRUE(parts[0].data == meta);
    EXPECT_EQ(parts[1].name, "rootfs");
    EXPECT_EQ(parts[1].filename, fp + ".tar.gz");
    EXPECT_TRUE(parts[1].data == rootfs);

    auto op = nlohmann::json::parse(call("DELETE", "/1.0/images/" + fp).body);
    call("GET", op["operation"].get<std::string>() + "/wait");
    EXPECT_TRUE(fs::is_empty(daemon_->images().dir()));
}

TEST_F(Images, BadSplitImagesAreRefused) {
    auto meta = make_tar({{"metadata.yaml", AE_IFREG, default_metadata}});
    for (std::string name : {"../evil", "/etc/evil", "./bin/../../evil"}) {
        auto rootfs = make_tar({{"./bin", AE_IFDIR, "", 0755}, {name, AE_IFREG, "x"}});
        auto err = import_error(split_body(meta, rootfs), split_headers);
        EXPECT_NE(err.find("leaves the image"), std::string::npos) << name << ": " << err;
    }
    auto rootfs = make_tar({{"./bin", AE_IFDIR, "", 0755}});
    EXPECT_NE(import_error(split_body(make_tar({{"templates", AE_IFDIR, "", 0755}}), rootfs), split_headers)
                  .find("metadata.yaml"),
              std::string::npos);
    EXPECT_EQ(upload(split_body(meta, rootfs, "rootfs.img"), split_headers).status, 501);
    EXPECT_EQ(upload(split_body(meta, rootfs, "other"), split_headers).status, 400);
    EXPECT_EQ(upload("not multipart", split_headers).status, 400);
    EXPECT_EQ(upload(split_body(meta, rootfs), {{"content-type", "multipart/form-data"}}).status, 400);
    EXPECT_TRUE(fs::is_empty(daemon_->images().dir()));
}

TEST_F(Images, AliasesMatchLxdAndResolve) {
    auto fp = import_ok(make_tar(image_entries()));
    auto created = call("POST", "/1.0/images/aliases", R"({"name":"bb","target":")" + fp.substr(0, 8) + R"("})");
    EXPECT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(call("POST", "/1.0/images/aliases", R"({"name":"bb","target":")" + fp + R"("})").status, 409);
    EXPECT_EQ(call("POST", "/1.0/images/aliases", R"({"name":"x","target":"ffff"})").status, 404);
    EXPECT_EQ(call("POST", "/1.0/images/aliases", R"({"target":")" + fp + R"("})").status, 400);

    auto alias = nlohmann::json::parse(call("GET", "/1.0/images/aliases/bb").body);
    EXPECT_TRUE(same_shape(alias, load_reference("image-alias.json")));
    EXPECT_EQ(alias["metadata"]["target"], fp);
    auto all = nlohmann::json::parse(call("GET", "/1.0/images/aliases", "", {{"recursion", "1"}}).body);
    EXPECT_TRUE(same_shape(all, load_reference("image-aliases-recursion1.json")));
    EXPECT_EQ(nlohmann::json::parse(call("GET", "/1.0/images/aliases").body)["metadata"],
              nlohmann::json::array({"/1.0/images/aliases/bb"}));
    auto image = nlohmann::json::parse(call("GET", "/1.0/images/" + fp).body);
    EXPECT_EQ(image["metadata"]["aliases"], nlohmann::json::parse(R"([{"name":"bb","description":""}])"));

    daemon_->with_db([&](daemon::db::Database& db) {
        EXPECT_EQ(daemon::resolve_image(db, "bb").fingerprint, fp);
        EXPECT_EQ(daemon::resolve_image(db, fp).fingerprint, fp);
        auto src = daemon::resolve_image(db, fp.substr(0, 5));
        EXPECT_EQ(src.architecture, "x86_64");
        EXPECT_EQ(src.properties.at("os"), "busybox");
        EXPECT_THROW(daemon::resolve_image(db, "nope"), Error);
        EXPECT_THROW(daemon::resolve_image(db, ""), Error);
    });

    EXPECT_EQ(call("PATCH", "/1.0/images/aliases/bb", R"({"description":"small"})").status, 200);
    EXPECT_EQ(call("POST", "/1.0/images/aliases/bb", R"({"name":"bb2"})").status, 200);
    EXPECT_EQ(call("GET", "/1.0/images/aliases/bb").status, 404);
    auto renamed = nlohmann::json::parse(call("GET", "/1.0/images/aliases/bb2").body);
    EXPECT_EQ(renamed["metadata"]["description"], "small");
    EXPECT_EQ(call("DELETE", "/1.0/images/aliases/bb2").status, 200);
    EXPECT_EQ(call("DELETE", "/1.0/images/aliases/bb2").status, 404);
}

TEST_F(Images, PropertiesEditAndDeleteTakeAliasesAlong) {
    auto fp = import_ok(make_tar(image_entries()));
    ASSERT_EQ(call("POST", "/1.0/images/aliases", R"({"name":"bb","target":")" + fp + R"("})").status, 201);
    EXPECT_EQ(call("PATCH", "/1.0/images/" + fp, R"({"properties":{"extra":"1"},"public":true})").status, 200);
    auto m = nlohmann::json::parse(call("GET", "/1.0/images/" + fp).body)["metadata"];
    EXPECT_EQ(m["properties"]["extra"], "1");
    EXPECT_EQ(m["properties"]["os"], "busybox");
    EXPECT_EQ(m["public"], true);
    EXPECT_EQ(call("PUT", "/1.0/images/" + fp, R"({"properties":{"only":"this"}})").status, 200);
    m = nlohmann::json::parse(call("GET", "/1.0/images/" + fp).body)["metadata"];
    EXPECT_EQ(m["properties"], (nlohmann::json{{"only", "this"}}));
    EXPECT_EQ(m["public"], false);

    auto reply = call("DELETE", "/1.0/images/" + fp);
    ASSERT_EQ(reply.status, 202) << reply.body;
    auto op = nlohmann::json::parse(reply.body);
    auto done = nlohmann::json::parse(call("GET", op["operation"].get<std::string>() + "/wait").body)["metadata"];
    EXPECT_EQ(done["status"], "Success") << done.dump();
    EXPECT_EQ(call("GET", "/1.0/images/" + fp).status, 404);
    EXPECT_EQ(call("GET", "/1.0/images/aliases/bb").status, 404);
    EXPECT_TRUE(fs::is_empty(daemon_->images().dir()));
    EXPECT_EQ(call("DELETE", "/1.0/images/" + fp).status, 404);
}

} // namespace
} // namespace lodge::test
