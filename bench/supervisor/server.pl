#!/usr/bin/perl
# The same trivial TCP server as server.cjs (one line, `ok <pid>\n`, per connection), in Perl: it is
# serving a few milliseconds after exec where Node takes 50 ms or more, so the first-restart figure
# of a supervisor running it is mostly the supervisor's own work. Core Perl only.
use strict;
use warnings;
use IO::Socket::INET;

my $port = $ARGV[0] // '';
die "usage: perl server.pl PORT\n" unless $port =~ /^[1-9][0-9]*$/;
my $server = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port, Listen => 511, ReuseAddr => 1)
  or die "server.pl: cannot listen on 127.0.0.1:$port: $!\n";
$SIG{TERM} = sub { exit 0 };
$SIG{PIPE} = 'IGNORE';
while (1) {
  my $client = $server->accept or next;
  print {$client} "ok $$\n";
  close $client;
}
