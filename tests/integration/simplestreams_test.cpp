// Images from a simplestreams server: the tests publish the busybox fixture
// as a split image (lxd.tar.xz + root.tar.xz) in a streams/v1 tree with the
// hashes they compute, serve it over HTTPS on 127.0.0.1 with a CA of their
// own, and pull it with lodge, with LXD's lxc client and with the API.
#include "tests/integration/daemon_harness.hpp"
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace lodge::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string sha256_of(const std::string& path) {
    auto r = run({"sha256sum", path});
    if (r.status != 0) throw std::runtime_error("sha256sum " + path + ": " + r.err);
    return r.out.substr(0, 64);
}

std::string combined_sha256(const std::string& a, const std::string& b) {
    auto r = run({"/bin/sh", "-c", "cat \"$0\" \"$1\" | sha256sum", a, b});
    if (r.status != 0) throw std::runtime_error("sha256sum: " + r.err);
    return r.out.substr(0, 64);
}

void must(const Result& r, const std::string& what) {
    if (r.status != 0) throw std::runtime_error(what + " failed: " + r.err);
}

// A streams/v1 tree publishing the busybox fixture as busybox/1.36 (amd64),
// built once per process; each test serves its own copy so it can alter it.
struct PublishedImage {
    std::string dir;         // the tree: streams/v1/, images/busybox/...
    std::string fingerprint; // sha256(lxd.tar.xz + root.tar.xz)
};

const PublishedImage& busybox_tree() {
    static std::unique_ptr<TempDir> dir;
    static PublishedImage image;
    if (dir) return image;
    auto tmp = std::make_unique<TempDir>("lodge-ss-tree");
    const auto meta = tmp->path() + "/meta";
    fs::create_directories(meta + "/templates");
    std::ofstream(meta + "/metadata.yaml") << "architecture: x86_64\ncreation_date: 1764000000\n"
                                              "properties:\n  description: BusyBox test image\n  os: busybox\n"
                                              "  release: \"1.36\"\ntemplates: {}\n";
    const auto files = tmp->path() + "/tree/images/busybox/1.36/amd64/default/20261124_0000";
    fs::create_directories(files);
    fs::create_directories(tmp->path() + "/tree/streams/v1");
    must(run({"tar", "-cJf", files + "/lxd.tar.xz", "-C", meta, "metadata.yaml", "templates"}), "tar lxd.tar.xz");
    must(run({"tar", "--numeric-owner", "--xattrs", "-cJf", files + "/root.tar.xz", "-C", fixture("busybox"), "."}),
         "tar root.tar.xz");
    image.fingerprint = combined_sha256(files + "/lxd.tar.xz", files + "/root.tar.xz");
    const std::string rel = "images/busybox/1.36/amd64/default/20261124_0000/";
    json items = {{"lxd.tar.xz",
                   {{"ftype", "lxd.tar.xz"},
                    {"path", rel + "lxd.tar.xz"},
                    {"sha256", sha256_of(files + "/lxd.tar.xz")},
                    {"size", fs::file_size(files + "/lxd.tar.xz")},
                    {"combined_sha256", image.fingerprint},
                    {"combined_rootxz_sha256", image.fingerprint}}},
                  {"root.tar.xz",
                   {{"ftype", "root.tar.xz"},
                    {"path", rel + "root.tar.xz"},
                    {"sha256", sha256_of(files + "/root.tar.xz")},
                    {"size", fs::file_size(files + "/root.tar.xz")}}}};
    json products = {{"content_id", "images"},
                     {"datatype", "image-downloads"},
                     {"format", "products:1.0"},
                     {"products",
                      {{"busybox:1.36:amd64:default",
                        {{"aliases", "busybox/1.36,busybox/stable"},
                         {"arch", "amd64"},
                         {"os", "BusyBox"},
                         {"release", "1.36"},
                         {"release_title", "1.36"},
                         {"variant", "default"},
                         {"versions", {{"20261124_0000", {{"items", items}}}}}}}}}};
    json index = {{"format", "index:1.0"},
                  {"index",
                   {{"images",
                     {{"datatype", "image-downloads"},
                      {"path", "streams/v1/images.json"},
                      {"format", "products:1.0"},
                      {"products", {"busybox:1.36:amd64:default"}}}}}}};
    std::ofstream(tmp->path() + "/tree/streams/v1/images.json") << products.dump(1);
    std::ofstream(tmp->path() + "/tree/streams/v1/index.json") << index.dump(1);
    image.dir = tmp->path() + "/tree";
    dir = std::move(tmp);
    return image;
}

// A CA and a certificate for 127.0.0.1 signed by it, made with openssl.
struct TestCa {
    explicit TestCa(const std::string& dir) : ca(dir + "/ca.crt"), cert(dir + "/server.crt"), key(dir + "/server.key") {
        std::ofstream(dir + "/ext") << "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n";
        must(run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", dir + "/ca.key", "-out", ca, "-subj", "/CN=lodge test CA", "-days", "2", "-addext",
                  "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"}),
             "openssl CA");
        must(run({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                  key, "-out", dir + "/server.csr", "-subj", "/CN=127.0.0.1"}),
             "openssl CSR");
        must(run({"openssl", "x509", "-req", "-in", dir + "/server.csr", "-CA", ca, "-CAkey", dir + "/ca.key",
                  "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", dir + "/ext"}),
             "openssl sign");
    }
    std::string ca, cert, key;
};

// Python's http.server over TLS on an ephemeral port of 127.0.0.1, killed
// by PID when the test ends.
constexpr const char* https_server = R"py(
import functools, http.server, ssl, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=sys.argv[1]))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("port", srv.server_address[1], flush=True)
srv.serve_forever()
)py";

class Simplestreams : public ::testing::Test {
protected:
    void SetUp() override {
        const auto& published = busybox_tree();
        fingerprint_ = published.fingerprint;
        must(run({"cp", "-a", published.dir, tree_}), "copy the tree");
        server_ = std::make_unique<Background>(
            std::vector<std::string>{"/usr/bin/python3", "-c", https_server, tree_, ca_.cert, ca_.key});
        ASSERT_TRUE(server_->wait_for_output("\n", 10)) << server_->output();
        auto port = server_->output().substr(server_->output().find("port ") + 5);
        url_ = "https://127.0.0.1:" + port.substr(0, port.find('\n'));
        // lodged trusts the test CA through SSL_CERT_FILE, as LXD would.
        lodged_ = std::make_unique<Lodged>(state_.path(), std::vector<std::string>{"--debug"},
                                           std::vector<std::string>{"/usr/bin/env", "SSL_CERT_FILE=" + ca_.ca});
    }
    void TearDown() override {
        if (lodged_) stop_all_containers(state_.path());
    }

    Result lodge(std::vector<std::string> args) {
        std::vector<std::string> argv{"/usr/bin/env", "-u", "LODGE_REMOTE", "-u", "LODGE_CONF",
                                      "LODGE_DIR=" + state_.path(), "HOME=" + home_.path(),
                                      "SSL_CERT_FILE=" + ca_.ca, bin("lodge")};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, "", 120);
    }
    Result lxc(std::vector<std::string> args) {
        std::vector<std::string> argv{"/usr/bin/env", "-u", "LXC_REMOTE", "-u", "LXD_CONF",
                                      "LXD_DIR=" + state_.path(), "HOME=" + home_.path(),
                                      "SSL_CERT_FILE=" + ca_.ca, lxc_binary()};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, "", 120);
    }
    std::string published_file(const std::string& name) const {
        return tree_ + "/images/busybox/1.36/amd64/default/20261124_0000/" + name;
    }
    // POST /1.0/images with a pull source; the finished operation.
    json pull(const json& source, const json& extra = json::object()) {
        json body = {{"source", source}};
        body.update(extra);
        auto r = lodged_->request("POST", "/1.0/images", body.dump());
        EXPECT_EQ(r.status, 202) << r.body;
        auto op = r.json().value("operation", "");
        return lodged_->request("GET", op + "/wait?timeout=60").json()["metadata"];
    }
    json source(const std::string& alias) const {
        return {{"type", "image"}, {"mode", "pull"}, {"server", url_}, {"protocol", "simplestreams"}, {"alias", alias}};
    }
    // Nothing of an image in the store: no files, no half-written uploads, no rows.
    void expect_store_empty() {
        for (const auto& e : fs::directory_iterator(state_.path() + "/images"))
            ADD_FAILURE() << "left in the image store: " << e.path();
        EXPECT_EQ(lodged_->request("GET", "/1.0/images").json()["metadata"], json::array());
    }

    TempDir work_{"lodge-ss-work"};
    TempDir state_{"lodge-ss-state"};
    TempDir home_{"lodge-ss-home"};
    TestCa ca_{work_.path()};
    std::string tree_ = work_.path() + "/tree";
    std::string fingerprint_;
    std::string url_;
    std::unique_ptr<Background> server_;
    std::unique_ptr<Lodged> lodged_;
};

TEST_F(Simplestreams, LodgeCopiesAnImageByAliasFromTheServer) {
    auto added = lodge({"remote", "add", "srv", url_, "--protocol", "simplestreams"});
    ASSERT_EQ(added.status, 0) << added.err;
    auto remotes = lodge({"remote", "list", "--format", "csv"});
    EXPECT_NE(remotes.out.find("srv," + url_ + ",simplestreams,none,YES,NO,NO\n"), std::string::npos) << remotes.out;

    auto listed = lodge({"image", "list", "srv:", "--format", "csv"});
    ASSERT_EQ(listed.status, 0) << listed.err;
    EXPECT_NE(listed.out.find(fingerprint_.substr(0, 12) + ",yes,BusyBox 1.36 amd64 (20261124_0000),x86_64,CONTAINER,"),
              std::string::npos)
        << listed.out;

    auto copied = lodge({"image", "copy", "srv:busybox/1.36", "local:", "--alias", "bb"});
    ASSERT_EQ(copied.status, 0) << copied.err << lodged_->log();
    // Not a terminal: no progress line.
    EXPECT_EQ(copied.out, "Image copied successfully!\n");
    EXPECT_TRUE(fs::exists(state_.path() + "/images/" + fingerprint_));
    auto image = lodged_->request("GET", "/1.0/images/" + fingerprint_).json()["metadata"];
    EXPECT_EQ(image["fingerprint"], fingerprint_);
    EXPECT_EQ(image["cached"], false);
    EXPECT_EQ(image["architecture"], "x86_64");
    EXPECT_EQ(image["filename"], "lxd.tar.xz");
    EXPECT_EQ(image["properties"]["os"], "BusyBox");
    EXPECT_EQ(image["properties"]["serial"], "20261124_0000");
    EXPECT_EQ(lodged_->request("GET", "/1.0/images/aliases/bb").json()["metadata"]["target"], fingerprint_);

    // The same image again is no new download, and the image is usable.
    auto again = lodge({"image", "copy", "srv:busybox/1.36/amd64", "local:"});
    EXPECT_EQ(again.status, 0) << again.err;
    auto launched = lodge({"launch", "bb", "ss-1"});
    ASSERT_EQ(launched.status, 0) << launched.err << lodged_->log();
    auto out = lodge({"exec", "ss-1", "--", "test", "-x", "/bin/busybox"});
    EXPECT_EQ(out.status, 0) << out.err;
    lodge({"delete", "--force", "ss-1"});
}

// Instance creation pulls the image (cached) when the store lacks it.
TEST_F(Simplestreams, LaunchPullsTheImageFromTheServer) {
    ASSERT_EQ(lodge({"remote", "add", "srv", url_, "--protocol", "simplestreams"}).status, 0);
    auto launched = lodge({"launch", "srv:busybox/1.36", "ss-2"});
    if (launched.err.find("not supported yet") != std::string::npos)
        GTEST_SKIP() << "lodged does not create instances from remote images yet: " << launched.err;
    ASSERT_EQ(launched.status, 0) << launched.err << lodged_->log();
    EXPECT_EQ(lodge({"exec", "ss-2", "--", "test", "-x", "/bin/busybox"}).status, 0);
    auto image = lodged_->request("GET", "/1.0/images/" + fingerprint_).json()["metadata"];
    EXPECT_EQ(image["cached"], true);
    lodge({"delete", "--force", "ss-2"});
    if (lxc_binary().empty()) return;
    // LXD's client sends the same kind of request for `lxc launch`.
    ASSERT_EQ(lxc({"remote", "add", "srv", url_, "--protocol", "simplestreams"}).status, 0);
    auto by_lxc = lxc({"launch", "srv:busybox/stable", "ss-3"});
    EXPECT_EQ(by_lxc.status, 0) << by_lxc.err << lodged_->log();
    lxc({"delete", "--force", "ss-3"});
}

TEST_F(Simplestreams, LxcCopiesFromTheServerThroughLodged) {
    if (lxc_binary().empty()) GTEST_SKIP() << "lxc (Debian's lxd-client) is not installed";
    auto added = lxc({"remote", "add", "srv", url_, "--protocol", "simplestreams"});
    ASSERT_EQ(added.status, 0) << added.err;
    // Both clients read the catalog themselves and print it alike.
    ASSERT_EQ(lodge({"remote", "add", "srv", url_, "--protocol", "simplestreams"}).status, 0);
    // Both started from a fresh configuration: lxc's default image servers too.
    EXPECT_EQ(lodge({"remote", "list"}).out, lxc({"remote", "list"}).out);
    for (const auto& format : {"table", "csv", "json"}) {
        auto by_lxc = lxc({"image", "list", "srv:", "--format", format});
        ASSERT_EQ(by_lxc.status, 0) << by_lxc.err;
        EXPECT_EQ(lodge({"image", "list", "srv:", "--format", format}).out, by_lxc.out) << format;
    }
    for (const auto& verb : {"info", "show"}) {
        auto by_lxc = lxc({"image", verb, "srv:busybox/1.36"});
        ASSERT_EQ(by_lxc.status, 0) << by_lxc.err;
        EXPECT_EQ(lodge({"image", verb, "srv:busybox/1.36"}).out, sorted_properties(by_lxc.out)) << verb;
    }
    // lxc reads the catalog itself, then asks lodged to pull by fingerprint.
    auto copied = lxc({"image", "copy", "srv:busybox/stable", "local:", "--alias", "bb2"});
    ASSERT_EQ(copied.status, 0) << copied.err << lodged_->log();
    auto alias = lodged_->request("GET", "/1.0/images/aliases/bb2").json()["metadata"];
    EXPECT_EQ(alias["target"], fingerprint_);
    auto info = lxc({"image", "info", "bb2"});
    EXPECT_NE(info.out.find("Fingerprint: " + fingerprint_), std::string::npos) << info.out;
}

TEST_F(Simplestreams, ApiPullsByAliasAndByFingerprintPrefix) {
    auto op = pull(source("busybox/1.36"), {{"aliases", {{{"name", "bb3"}, {"description", "pulled"}}}}, {"public", true}});
    ASSERT_EQ(op["status"], "Success") << op.dump() << lodged_->log();
    EXPECT_EQ(op["metadata"]["fingerprint"], fingerprint_);
    auto image = lodged_->request("GET", "/1.0/images/" + fingerprint_).json()["metadata"];
    EXPECT_EQ(image["public"], true);
    EXPECT_EQ(image["aliases"][0]["name"], "bb3");
    // By fingerprint prefix: already there, nothing downloaded again.
    json by_fp = {{"type", "image"}, {"mode", "pull"}, {"server", url_}, {"protocol", "simplestreams"},
                  {"fingerprint", fingerprint_.substr(0, 12)}};
    op = pull(by_fp);
    EXPECT_EQ(op["status"], "Success") << op.dump();
    EXPECT_EQ(op["metadata"]["fingerprint"], fingerprint_);

    // A taken alias is refused before any download.
    auto taken = lodged_->request("POST", "/1.0/images",
                                  json{{"source", source("busybox/1.36")}, {"aliases", {{{"name", "bb3"}}}}}.dump());
    EXPECT_EQ(taken.status, 409) << taken.body;

    // The LXD protocol is not pulled from, and says so.
    json lxd_source = source("busybox/1.36");
    lxd_source["protocol"] = "lxd";
    auto r = lodged_->request("POST", "/1.0/images", json{{"source", lxd_source}}.dump());
    EXPECT_EQ(r.status, 501) << r.body;
}

TEST_F(Simplestreams, AlteredFileIsRefusedAndNothingIsKept) {
    // Same size, one byte changed: only the SHA-256 can tell.
    const auto rootfs = published_file("root.tar.xz");
    {
        std::fstream f(rootfs, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(100);
        char c = 0;
        f.get(c);
        f.seekp(100);
        f.put(static_cast<char>(c ^ 0x55));
    }
    auto op = pull(source("busybox/1.36"));
    EXPECT_EQ(op["status"], "Failure");
    EXPECT_NE(op["err"].get<std::string>().find("root.tar.xz is corrupt: SHA-256"), std::string::npos) << op.dump();
    expect_store_empty();

    ASSERT_EQ(lodge({"remote", "add", "srv", url_, "--protocol", "simplestreams"}).status, 0);
    auto copied = lodge({"image", "copy", "srv:busybox/1.36", "local:"});
    EXPECT_NE(copied.status, 0);
    EXPECT_NE(copied.err.find("is corrupt"), std::string::npos) << copied.err;
    expect_store_empty();
}

TEST_F(Simplestreams, WrongCombinedFingerprintIsRefused) {
    // The files match their hashes, the published fingerprint does not.
    const auto path = tree_ + "/streams/v1/images.json";
    auto products = json::parse(std::ifstream(path));
    auto& meta = products["products"]["busybox:1.36:amd64:default"]["versions"]["20261124_0000"]["items"]["lxd.tar.xz"];
    const std::string wrong(64, 'a');
    meta["combined_sha256"] = wrong;
    meta["combined_rootxz_sha256"] = wrong;
    std::ofstream(path) << products.dump();
    auto op = pull(source("busybox/1.36"));
    EXPECT_EQ(op["status"], "Failure");
    EXPECT_NE(op["err"].get<std::string>().find("Fingerprints don't match"), std::string::npos) << op.dump();
    expect_store_empty();
}

TEST_F(Simplestreams, UnknownAliasAndUnreachableServerAreClearErrors) {
    auto op = pull(source("debian/12"));
    EXPECT_EQ(op["status"], "Failure");
    EXPECT_NE(op["err"].get<std::string>().find("The image \"debian/12\" was not found on the server"),
              std::string::npos)
        << op.dump();
    ASSERT_EQ(lodge({"remote", "add", "srv", url_, "--protocol", "simplestreams"}).status, 0);
    auto copied = lodge({"image", "copy", "srv:debian/12", "local:"});
    EXPECT_EQ(copied.status, 1);
    EXPECT_NE(copied.err.find("debian/12"), std::string::npos) << copied.err;

    // Plain HTTP is refused, as lxc refuses it.
    auto plain = lodge({"remote", "add", "plain", "http://127.0.0.1:1", "--protocol", "simplestreams"});
    EXPECT_EQ(plain.err, "Error: Only https URLs are supported for simplestreams\n");
    auto http_source = source("busybox/1.36");
    http_source["server"] = "http://127.0.0.1:1";
    EXPECT_EQ(lodged_->request("POST", "/1.0/images", json{{"source", http_source}}.dump()).status, 400);

    // A server whose certificate no CA vouches for is refused.
    auto untrusted = source("busybox/1.36");
    untrusted["server"] = "https://localhost:" + url_.substr(url_.rfind(':') + 1); // the name is not in the cert
    op = pull(untrusted);
    EXPECT_EQ(op["status"], "Failure");
    EXPECT_NE(op["err"].get<std::string>().find("Cannot fetch"), std::string::npos) << op.dump();
    expect_store_empty();
}

} // namespace
} // namespace lodge::test
