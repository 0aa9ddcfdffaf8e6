// Image templates: the pongo2 subset LXD's images use, rendered as LXD
// renders it, and applied to an instance directory without ever leaving
// rootfs/ or templates/, whatever the image or the container put there.
#include "common/error.hpp"
#include "daemon/images/template_render.hpp"
#include "daemon/images/templates.hpp"

#include "tests/unit/temp_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace lodge::test {
namespace {

namespace fs = std::filesystem;
using daemon::RenderContext;

using daemon::render_template;

RenderContext context() {
    RenderContext ctx;
    ctx.values = {{"trigger", "create"}, {"path", "/etc/hostname"}};
    std::map<std::string, std::string> meta{{"name", "im-c1"}, {"architecture", "x86_64"}, {"type", "container"},
                                            {"privileged", "false"}};
    ctx.objects = {{"container", meta}, {"instance", meta}, {"properties", {{"default", "#cloud-config\n{}"}}}};
    ctx.config = {{"user.user-data", "#cloud-config\npackages: [vim]\n"}, {"user.network_mode", "link-local"}};
    return ctx;
}

std::string render(const std::string& src) { return render_template("t.tpl", src, context()); }

TEST(TemplateRender, NamesAndConfigAsDistrobuilderTemplatesUseThem) {
    EXPECT_EQ(render("{{ container.name }}\n"), "im-c1\n");
    EXPECT_EQ(render("127.0.1.1\t{{ instance.name }}\n127.0.0.1\tlocalhost\n"),
              "127.0.1.1\tim-c1\n127.0.0.1\tlocalhost\n");
    EXPECT_EQ(render("{{ container.architecture }} {{trigger}} {{ path }}"), "x86_64 create /etc/hostname");
    // config_get: the value without trailing newlines, or the default.
    EXPECT_EQ(render("{{ config_get(\"user.user-data\", properties.default) }}"), "#cloud-config\npackages: [vim]");
    EXPECT_EQ(render("{{ config_get(\"user.vendor-data\", properties.default) }}"), "#cloud-config\n{}");
    EXPECT_EQ(render("{{ config_get('user.meta-data', '') }}|"), "|");
    EXPECT_EQ(render("{{ nothing.here }}{{ missing }}|"), "|");
    EXPECT_EQ(render("{{ missing | default:\"fallback\" }} {{ container.name|default:'x' }}"), "fallback im-c1");
    EXPECT_EQ(render("a{# a comment #}b"), "ab");
    EXPECT_EQ(render("{{ \"<b>\" | safe }}"), "<b>");
    EXPECT_EQ(render("{% autoescape off %}<&>{% endautoescape %}"), "<&>");
}

TEST(TemplateRender, Conditions) {
    // distrobuilder's network-config template, reduced.
    const std::string src =
        "{% if config_get(\"user.network-config\", \"\") == \"\" %}type: "
        "{% if config_get(\"user.network_mode\", \"\") == \"link-local\" %}manual{% else %}dhcp{% endif %}"
        "{% else %}{{ config_get(\"user.network-config\", \"\") }}{% endif %}";
    EXPECT_EQ(render(src), "type: manual");
    EXPECT_EQ(render("{% if instance.type == \"virtual-machine\" %}enp5s0{% else %}eth0{% endif %}"), "eth0");
    EXPECT_EQ(render("{% if a %}1{% elif container.name != 'x' and not missing %}2{% else %}3{% endif %}"), "2");
    EXPECT_EQ(render("{% if missing or (trigger == 'create') %}yes{% endif %}"), "yes");
    EXPECT_EQ(render("{% if container.privileged == \"true\" %}p{% else %}u{% endif %}"), "u");
    EXPECT_EQ(render("{% if 1 %}{% if '' %}no{% else %}nested{% endif %}{% endif %}"), "nested");
    // Whitespace control.
    EXPECT_EQ(render("a  {%- if 1 -%}  b  {%- endif -%}  c"), "abc");
}

// distrobuilder's cloud-init templates, as its generator writes them.
TEST(TemplateRender, DistrobuilderCloudInitTemplates) {
    const std::string network =
        "{%- if config_get(\"cloud-init.network-config\", \"\") == \"\" -%}\n"
        "{%- if config_get(\"user.network-config\", \"\") == \"\" -%}\n"
        "version: 1\nconfig:\n  - type: physical\n"
        "    name: {% if instance.type == \"virtual-machine\" %}enp5s0{% else %}eth0{% endif %}\n"
        "    subnets:\n      - type: dhcp\n        control: auto\n"
        "{%- else -%}\n{{- config_get(\"user.network-config\", \"\") -}}\n{%- endif -%}\n"
        "{%- else -%}\n{{- config_get(\"cloud-init.network-config\", \"\") -}}\n{%- endif %}\n";
    EXPECT_EQ(render(network), "version: 1\nconfig:\n  - type: physical\n    name: eth0\n    subnets:\n"
                               "      - type: dhcp\n        control: auto\n");
    const std::string user =
        "{%- if config_get(\"cloud-init.user-data\", properties.default) == properties.default -%}\n"
        "{{ config_get(\"user.user-data\", properties.default) }}\n"
        "{%- else -%}\n{{- config_get(\"cloud-init.user-data\", properties.default) }}\n{%- endif %}\n";
    EXPECT_EQ(render(user), "#cloud-config\npackages: [vim]\n");
    auto ctx = context();
    ctx.config = {{"cloud-init.user-data", "#cloud-config\nruncmd: [true]\n"}};
    EXPECT_EQ(render_template("user-data.tpl", user, ctx), "#cloud-config\nruncmd: [true]\n");
    const std::string meta = "instance-id: {{ container.name }}\nlocal-hostname: {{ container.name }}\n"
                             "{{ config_get(\"user.meta-data\", \"\") }}\n";
    EXPECT_EQ(render(meta), "instance-id: im-c1\nlocal-hostname: im-c1\n\n");
}

TEST(TemplateRender, WhatTheSubsetLacksIsAnErrorNamingTheTemplateAndLine) {
    auto error = [](const std::string& src) {
        try {
            render(src);
        } catch (const Error& e) {
            EXPECT_EQ(e.status(), 400);
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(error("x\n{% for a in b %}{% endfor %}"), "Template 't.tpl' line 2: unsupported tag 'for'");
    EXPECT_NE(error("{{ a | shell:'rm' }}").find("unsupported filter 'shell'"), std::string::npos);
    EXPECT_NE(error("{{ exec('id') }}").find("unsupported function 'exec'"), std::string::npos);
    EXPECT_NE(error("{% if a %}x").find("'if' without 'endif'"), std::string::npos);
    EXPECT_NE(error("{% endif %}").find("without a matching 'if'"), std::string::npos);
    EXPECT_NE(error("{{ a ").find("never closed"), std::string::npos);
    EXPECT_NE(error("{{ 'a }}").find("unterminated string"), std::string::npos);
}

// An instance directory as unpacking leaves it, plus a canary directory
// beside it that nothing may touch.
class Templates : public ::testing::Test {
protected:
    void SetUp() override {
        fs::create_directories(dir_ + "/rootfs/etc");
        fs::create_directories(dir_ + "/templates");
        fs::create_directories(outside_);
        std::ofstream(outside_ + "/victim") << "victim";
        std::ofstream(dir_ + "/templates/hostname.tpl") << "{{ container.name }}\n";
        std::ofstream(dir_ + "/templates/hosts.tpl") << "127.0.1.1\t{{ container.name }}\n";
        std::ofstream(dir_ + "/templates/cloud.tpl") << "{{ config_get(\"user.user-data\", properties.default) }}\n";
    }
    void metadata(const std::string& templates) {
        std::ofstream(dir_ + "/metadata.yaml") << "architecture: x86_64\ncreation_date: 1\ntemplates:\n" << templates;
    }
    std::vector<std::string> apply(const std::string& trigger = "create") {
        daemon::TemplateInstance instance;
        instance.name = "im-c1";
        instance.architecture = "x86_64";
        instance.config = {{"user.user-data", "#cloud-config"}};
        return daemon::apply_templates(dir_, trigger, instance);
    }
    std::string apply_error(const std::string& trigger = "create") {
        try {
            apply(trigger);
        } catch (const Error& e) {
            EXPECT_EQ(e.status(), 400) << e.what();
            return e.what();
        }
        return "no error";
    }
    static std::string read(const std::string& path) {
        std::ifstream in(path);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
    void TearDown() override {
        EXPECT_EQ(read(outside_ + "/victim"), "victim");
        EXPECT_EQ(std::distance(fs::directory_iterator(outside_), fs::directory_iterator{}), 1) << "outside touched";
    }

    TempDir tmp_{"lodge-im-templates"};
    std::string dir_ = tmp_.path() + "/instance";
    std::string outside_ = tmp_.path() + "/outside";
};

TEST_F(Templates, EachTriggerWritesItsTemplates) {
    metadata("  /etc/hostname:\n    when: [create, copy]\n    template: hostname.tpl\n"
             "  /etc/hosts:\n    when: [start]\n    template: hosts.tpl\n"
             "  /var/lib/cloud/seed/nocloud-net/user-data:\n    when: [create, copy]\n    create_only: true\n"
             "    template: cloud.tpl\n    properties:\n      default: |\n        #cloud-config\n        {}\n");
    EXPECT_EQ(apply("create"),
              (std::vector<std::string>{"/etc/hostname", "/var/lib/cloud/seed/nocloud-net/user-data"}));
    EXPECT_EQ(read(dir_ + "/rootfs/etc/hostname"), "im-c1\n");
    EXPECT_FALSE(fs::exists(dir_ + "/rootfs/etc/hosts"));
    EXPECT_EQ(read(dir_ + "/rootfs/var/lib/cloud/seed/nocloud-net/user-data"), "#cloud-config\n");
    struct stat st {};
    ASSERT_EQ(::stat((dir_ + "/rootfs/etc/hostname").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0644u);

    // create_only leaves an existing file alone; others are rewritten.
    std::ofstream(dir_ + "/rootfs/var/lib/cloud/seed/nocloud-net/user-data") << "mine";
    std::ofstream(dir_ + "/rootfs/etc/hostname") << "a much longer old hostname\n";
    EXPECT_EQ(apply("copy"), (std::vector<std::string>{"/etc/hostname"}));
    EXPECT_EQ(read(dir_ + "/rootfs/etc/hostname"), "im-c1\n");
    EXPECT_EQ(read(dir_ + "/rootfs/var/lib/cloud/seed/nocloud-net/user-data"), "mine");
    EXPECT_EQ(apply("start"), (std::vector<std::string>{"/etc/hosts"}));
    EXPECT_EQ(read(dir_ + "/rootfs/etc/hosts"), "127.0.1.1\tim-c1\n");
}

TEST_F(Templates, NoMetadataOrNoTemplatesIsNothingToDo) {
    EXPECT_TRUE(apply().empty());
    std::ofstream(dir_ + "/metadata.yaml") << "architecture: x86_64\n";
    EXPECT_TRUE(apply().empty());
}

TEST_F(Templates, TargetsStayInsideTheRootfs) {
    // An absolute symlink in the rootfs points inside it, as the container
    // sees it; a missing directory behind one is not made.
    fs::create_symlink(outside_, dir_ + "/rootfs/etc/escape");
    metadata("  /etc/escape/pwned:\n    when: [create]\n    template: hostname.tpl\n");
    EXPECT_NE(apply_error().find("Template target '/etc/escape/pwned': cannot make its directory"), std::string::npos);
    fs::create_directories(dir_ + "/rootfs" + outside_);
    EXPECT_EQ(apply(), (std::vector<std::string>{"/etc/escape/pwned"}));
    EXPECT_EQ(read(dir_ + "/rootfs" + outside_ + "/pwned"), "im-c1\n");

    metadata("  /../../outside/pwned:\n    when: [create]\n    template: hostname.tpl\n");
    EXPECT_EQ(apply_error(), "Template target '/../../outside/pwned' leaves the rootfs");

    // A relative symlink climbing out stops at the rootfs' root.
    fs::create_symlink("../../outside/victim", dir_ + "/rootfs/etc/hostname");
    metadata("  /etc/hostname:\n    when: [create]\n    template: hostname.tpl\n");
    EXPECT_EQ(apply_error(), "Template target '/etc/hostname' is a dangling symlink");
    fs::create_directories(dir_ + "/rootfs/outside");
    std::ofstream(dir_ + "/rootfs/outside/victim") << "inner";
    EXPECT_EQ(apply(), (std::vector<std::string>{"/etc/hostname"}));
    EXPECT_EQ(read(dir_ + "/rootfs/outside/victim"), "im-c1\n");

    // A device or a FIFO at the target is never opened.
    ASSERT_EQ(::mknod((dir_ + "/rootfs/etc/disk").c_str(), S_IFBLK | 0600, makedev(7, 200)), 0);
    ASSERT_EQ(::mkfifo((dir_ + "/rootfs/etc/fifo").c_str(), 0600), 0);
    metadata("  /etc/disk:\n    when: [create]\n    template: hostname.tpl\n");
    EXPECT_EQ(apply_error(), "Template target '/etc/disk' is not a regular file");
    metadata("  /etc/fifo:\n    when: [create]\n    template: hostname.tpl\n");
    EXPECT_EQ(apply_error(), "Template target '/etc/fifo' is not a regular file");
}

TEST_F(Templates, SourcesStayInsideTemplates) {
    for (std::string source : {"../metadata.yaml", "/etc/passwd", "a/../../x.tpl"}) {
        metadata("  /etc/hostname:\n    when: [create]\n    template: " + source + "\n");
        EXPECT_EQ(apply_error(), "Template '" + source + "' leaves the templates directory");
    }
    fs::create_symlink(outside_ + "/victim", dir_ + "/templates/link.tpl");
    metadata("  /etc/hostname:\n    when: [create]\n    template: link.tpl\n");
    EXPECT_EQ(apply_error(), "Template 'link.tpl' is a symlink; templates must be plain files");
    fs::create_directories(dir_ + "/templates/sub");
    fs::create_symlink(outside_, dir_ + "/templates/sub/dir");
    metadata("  /etc/hostname:\n    when: [create]\n    template: sub/dir/victim\n");
    EXPECT_EQ(apply_error(), "Template 'sub/dir/victim' is a symlink; templates must be plain files");
    EXPECT_FALSE(fs::exists(dir_ + "/rootfs/etc/hostname"));
}

TEST_F(Templates, SymlinkedDirectoriesAndHugeMetadataAreRefused) {
    metadata("  /etc/hostname:\n    when: [create]\n    template: hostname.tpl\n");
    fs::rename(dir_ + "/templates", tmp_.path() + "/real-templates");
    fs::create_symlink(tmp_.path() + "/real-templates", dir_ + "/templates");
    EXPECT_NE(apply_error().find("'templates' is a symlink"), std::string::npos);
    fs::remove(dir_ + "/templates");
    fs::rename(tmp_.path() + "/real-templates", dir_ + "/templates");

    fs::rename(dir_ + "/rootfs", tmp_.path() + "/real-rootfs");
    fs::create_symlink(tmp_.path() + "/real-rootfs", dir_ + "/rootfs");
    EXPECT_NE(apply_error().find("'rootfs' is a symlink"), std::string::npos);
    fs::remove(dir_ + "/rootfs");
    fs::rename(tmp_.path() + "/real-rootfs", dir_ + "/rootfs");

    fs::rename(dir_ + "/metadata.yaml", tmp_.path() + "/real-metadata.yaml");
    fs::create_symlink(tmp_.path() + "/real-metadata.yaml", dir_ + "/metadata.yaml");
    EXPECT_EQ(apply_error(), "metadata.yaml is not a regular file");
    fs::remove(dir_ + "/metadata.yaml");

    std::ofstream(dir_ + "/metadata.yaml") << "architecture: x86_64\n# " << std::string(2 << 20, 'x') << "\n";
    EXPECT_EQ(apply_error(), "metadata.yaml is too large (more than 1048576 bytes)");
    EXPECT_FALSE(fs::exists(dir_ + "/rootfs/etc/hostname"));
}

} // namespace
} // namespace lodge::test
