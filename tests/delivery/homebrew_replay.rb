# frozen_string_literal: true

# Replays a Homebrew formula on Linux with a minimal stand-in for Homebrew's formula DSL (only what
# dist/homebrew/Formula/opensc-recovery.rb uses; anything else fails loudly):
#   1. load the formula; 2. check the tarball (the formula's sha256, or a stand-in pinned in
#   upstream/opensc.pin); 3. extract it, apply the formula's patches in order, each checked against
#   its sha256; 4. run `install` into PREFIX; 5. run the `test do` block; 6. print the caveats.
#
#   ruby homebrew_replay.rb FORMULA TARBALL WORKDIR PINFILE
#
# Not Homebrew: no superenv, no sandbox, no bottles, no `brew audit`/`brew style`. Dependencies are
# the Debian packages of ./bootstrap; Formula["docbook-xsl"].opt_prefix is Debian's stylesheet root.
require "digest"
require "fileutils"
require "open3"
require "pathname"

def die(msg)
  warn "homebrew-replay: FAIL: #{msg}"
  exit 1
end

def say(msg)
  puts "homebrew-replay: #{msg}"
  $stdout.flush
end

# Homebrew's Formula, reduced to the DSL the tap's formula uses.
class Formula
  class BuildError < StandardError; end
  class AssertionError < StandardError; end

  # A `patch do ... end` block.
  class PatchSpec
    attr_reader :strip, :sha

    def initialize(strip)
      @strip = strip
    end

    def url(value = nil, **_opts)
      @url = value if value
      @url
    end

    def sha256(value)
      @sha = value
    end
  end

  # Formula["name"]: where a dependency is installed (Debian paths).
  class Dependency
    OPT = { "docbook-xsl" => "/usr/share/xml/docbook/stylesheet" }.freeze

    def initialize(name)
      @name = name
    end

    def opt_prefix
      Pathname(OPT.fetch(@name) { raise "homebrew-replay: no Debian stand-in for Formula[\"#{@name}\"]" })
    end
  end

  class << self
    attr_reader :spec

    def inherited(sub)
      super
      sub.instance_variable_set(:@spec, { patches: [], depends_on: [], uses_from_macos: [], conflicts_with: [] })
      $replay_formula = sub
    end

    def desc(text) = spec[:desc] = text
    def homepage(text) = spec[:homepage] = text
    def license(text) = spec[:license] = text
    def sha256(text) = spec[:sha256] = text
    def version(text) = spec[:version] = text

    def url(text, **_opts)
      spec[:url] = text
    end

    def depends_on(dep) = spec[:depends_on] << dep
    def uses_from_macos(*deps, **opts) = spec[:uses_from_macos] << [deps, opts]

    def conflicts_with(*names, because: nil)
      spec[:conflicts_with] << [names, because]
    end

    # Linux: on_linux blocks apply, on_macos blocks do not.
    def on_linux
      yield
    end

    def on_macos; end

    def patch(strip = :p1, &block)
      p = PatchSpec.new(strip)
      p.instance_eval(&block)
      spec[:patches] << p
    end

    def test(&block)
      spec[:test] = block
    end

    def [](name) = Dependency.new(name)

    def method_missing(name, *_args, **_kw)
      raise NoMethodError, "homebrew-replay: the DSL stand-in does not implement `#{name}` (used by the formula)"
    end

    def respond_to_missing?(*) = false
  end

  attr_reader :prefix

  def initialize(prefix)
    @prefix = Pathname(prefix)
  end

  def bin = prefix/"bin"
  def lib = prefix/"lib"
  def etc = prefix/"etc"
  def share = prefix/"share"
  def opt_lib = lib
  def opt_prefix = prefix

  def version
    self.class.spec[:version] || self.class.spec[:url][/-(\d+(?:\.\d+)+)\.tar/, 1]
  end

  # Homebrew's std_configure_args (Formula#std_configure_args).
  def std_configure_args
    ["--disable-debug", "--disable-dependency-tracking", "--prefix=#{prefix}", "--libdir=#{lib}"]
  end

  def build
    Struct.new(:head?).new(false)
  end

  def system(cmd, *args)
    say "  ==> #{([cmd] + args).join(" ")}"
    log = ENV.fetch("REPLAY_LOG")
    ok = Kernel.system(cmd, *args.map(&:to_s), out: [log, "a"], err: [log, "a"])
    raise BuildError, "#{cmd} #{args.join(" ")} failed (see #{log})" unless ok
  end

  def shell_output(cmd, result = 0)
    say "  ==> #{cmd}"
    out, status = Open3.capture2(cmd)
    raise AssertionError, "`#{cmd}` exited #{status.exitstatus}, expected #{result}" if status.exitstatus != result

    out
  end

  def assert_match(expected, actual)
    re = expected.is_a?(Regexp) ? expected : Regexp.new(Regexp.escape(expected))
    raise AssertionError, "expected #{re.inspect} in:\n#{actual}" unless re.match?(actual)

    say "  ok: #{re.inspect}"
  end
end

formula_path, tarball, workdir, pinfile = ARGV
die "usage: homebrew_replay.rb FORMULA TARBALL WORKDIR PINFILE" unless pinfile

load File.expand_path(formula_path)
klass = $replay_formula || die("#{formula_path} defines no Formula subclass")
spec = klass.spec
say "formula #{klass.name}: #{spec[:url]}"

# 2. The tarball.
pins = File.readlines(pinfile).filter_map { |l| l[/^OPENSC_\w+_SHA256=(\h{64})/, 1] }
die "#{formula_path}: sha256 #{spec[:sha256]} is not pinned in #{pinfile}" unless pins.include?(spec[:sha256])
actual = Digest::SHA256.file(tarball).hexdigest
if actual == spec[:sha256]
  say "tarball #{File.basename(tarball)}: the formula's sha256"
elsif pins.include?(actual)
  say "tarball #{File.basename(tarball)}: not the formula's release tarball but the same release " \
      "pinned in #{File.basename(pinfile)} (sha256 #{actual[0, 12]}...); the formula's own sha256 is pinned there too"
else
  die "#{tarball}: sha256 #{actual} is neither the formula's nor pinned"
end

work = Pathname(workdir)
src = work/"src"
prefix = work/"prefix"
# REPLAY_TEST_ONLY=1: the caller found WORKDIR/prefix installed by this same formula (everything but its
# `test do` block unchanged): the patches are still checked, the build is not repeated.
test_only = ENV["REPLAY_TEST_ONLY"] == "1" && (prefix/"bin").directory?
unless test_only
  FileUtils.rm_rf(work)
  FileUtils.mkdir_p([src, prefix])
  Kernel.system("tar", "-xzf", tarball, "-C", src.to_s, "--strip-components=1", exception: true)
end
ENV["REPLAY_LOG"] = (work/"build.log").to_s

# 3. The patches, in the formula's order.
spec[:patches].each_with_index do |p, i|
  url = p.url
  die "patch #{i + 1}: only file:// URLs are replayed (#{url})" unless url.start_with?("file://")
  file = url.delete_prefix("file://")
  die "patch #{i + 1}: #{file} missing" unless File.file?(file)
  got = Digest::SHA256.file(file).hexdigest
  die "patch #{i + 1}: #{File.basename(file)}: sha256 #{got}, the formula says #{p.sha}" if got != p.sha
  if test_only
    say "#{File.basename(file)} (sha256 ok; applied by the earlier build)"
    next
  end
  level = p.strip.to_s.delete_prefix("p")
  out, st = Open3.capture2e("patch", "-d", src.to_s, "-p#{level}", "--fuzz=0", "--no-backup-if-mismatch", "-i", file)
  die "patch #{i + 1}: #{File.basename(file)} does not apply:\n#{out}" unless st.success?
  say "applied #{File.basename(file)} (sha256 ok)"
end

# 4. install, in the source tree (as brew does).
formula = klass.new(prefix)
ENV["MAKEFLAGS"] = "-j#{ENV.fetch("REPLAY_JOBS", "2")}"
if test_only
  say "install: #{prefix} was installed by this formula's unchanged install steps (REPLAY_TEST_ONLY)"
else
  say "install into #{prefix}"
  begin
    Dir.chdir(src) { formula.install }
  rescue Formula::BuildError => e
    die e.message
  end
end

# 5. test do, in an empty directory; the PC/SC socket points nowhere so no card service is contacted.
testdir = work/"test"
FileUtils.mkdir_p(testdir)
ENV["PCSCLITE_CSOCK_NAME"] = (testdir/"no-pcscd").to_s
ENV["HOME"] = testdir.to_s
say "test do"
begin
  Dir.chdir(testdir) { formula.instance_eval(&spec[:test]) }
rescue Formula::AssertionError => e
  die "test do: #{e.message}"
end

# 6. caveats (shown as brew would after install).
say "caveats:"
puts formula.caveats
say "PASS: patches applied, installed into #{prefix}, test do passed"
File.write(work/"installed-by", ENV.fetch("REPLAY_INSTALL_KEY", ""))
