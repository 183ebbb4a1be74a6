// Which Azure requests go through the HTTPS proxy: HTTPS_PROXY and NO_PROXY as the environment
// gives them (upper case first, then lower case, as the Azure SDK reads them), and NO_PROXY's
// entries as Go and curl read them. The wire itself is tested in test/integration/azure-proxy.test.ts.
import { expect } from 'chai';
import { bypassesProxy, proxyFromEnvironment, redactedProxyUrl } from '../../src/azure/proxy.js';
import { ConfigError, helpText, loadConfig } from '../../src/config.js';

describe('the HTTPS proxy for Azure', () => {
  describe('from the environment', () => {
    it('is none without HTTPS_PROXY, even with HTTP_PROXY or ALL_PROXY (Azure is https only)', () => {
      expect(proxyFromEnvironment({})).to.equal(undefined);
      expect(proxyFromEnvironment({ HTTPS_PROXY: '  ', HTTP_PROXY: 'http://p:1', ALL_PROXY: 'http://p:2' })).to.equal(undefined);
    });

    it('reads HTTPS_PROXY before https_proxy, and NO_PROXY before no_proxy', () => {
      const upper = proxyFromEnvironment({ HTTPS_PROXY: 'http://upper:3128', https_proxy: 'http://lower:3128', NO_PROXY: 'a.example', no_proxy: 'b.example' });
      expect(upper?.url.host).to.equal('upper:3128');
      expect(upper?.noProxy).to.deep.equal(['a.example']);
      const lower = proxyFromEnvironment({ https_proxy: 'http://lower:3128', no_proxy: ' B.example , ,10.0.0.0/8 ' });
      expect(lower?.url.host).to.equal('lower:3128');
      expect(lower?.noProxy).to.deep.equal(['b.example', '10.0.0.0/8']);
    });

    it('takes host:port without a scheme as http://, as curl and Go do', () => {
      expect(proxyFromEnvironment({ HTTPS_PROXY: 'proxy.corp:8080' })?.url.href).to.equal('http://proxy.corp:8080/');
    });

    it('refuses what is not an http(s) proxy, naming the variable and never the password', () => {
      expect(() => proxyFromEnvironment({ https_proxy: 'socks5://u:pw@p:1080' })).to.throw(/^https_proxy: "socks5:\/\/\*\*\*@p:1080" must be an http:\/\/ or https:\/\/ proxy/);
      expect(() => proxyFromEnvironment({ HTTPS_PROXY: 'http://p:3128/some/path' })).to.throw(/HTTPS_PROXY: .* without a path/);
      expect(() => proxyFromEnvironment({ HTTPS_PROXY: 'http://u:pw@[bad' })).to.throw(/HTTPS_PROXY: "http:\/\/\*\*\*@\[bad" is not a URL/);
      // A password holding @ or / in a value that does not parse is hidden whole.
      for (const value of ['http://u:p@ss@host:99999', 'http://u:p/ss@host:99999', 'u:p@ss/x@host:99999']) {
        const message = (() => { try { proxyFromEnvironment({ HTTPS_PROXY: value }); return ''; } catch (err) { return (err as Error).message; } })();
        expect(message, value).to.match(/is not a URL|without a path/).and.not.to.match(/p@ss|p\/ss|ss\/x/);
        expect(message, value).to.include('***@host:99999');
      }
    });

    it('stops start-up with a ConfigError naming the variable, and --help lists the variables', () => {
      expect(() => loadConfig([], { HTTPS_PROXY: 'ftp://p:21' }, () => '')).to.throw(ConfigError, /HTTPS_PROXY/);
      expect(loadConfig([], { HTTPS_PROXY: 'http://p:3128', NO_PROXY: '.svc' }, () => '').azureProxy?.noProxy).to.deep.equal(['.svc']);
      expect(loadConfig([], {}, () => '').azureProxy).to.equal(undefined);
      expect(helpText()).to.include('HTTPS_PROXY').and.to.include('NO_PROXY');
    });

    it('shows the proxy without its credentials', () => {
      expect(redactedProxyUrl(new URL('http://user:secret@proxy.corp:3128'))).to.equal('http://***@proxy.corp:3128');
      expect(redactedProxyUrl(new URL('https://proxy.corp:3128'))).to.equal('https://proxy.corp:3128');
    });
  });

  describe('NO_PROXY', () => {
    const direct = (url: string, ...noProxy: string[]) => bypassesProxy(url, noProxy);

    it('sends everything through the proxy when empty, and nothing with *', () => {
      expect(direct('https://management.azure.com')).to.equal(false);
      expect(direct('https://management.azure.com', '*')).to.equal(true);
    });

    it('matches a host name and its subdomains, with or without a leading . or *., but not a longer name', () => {
      for (const entry of ['azure.com', '.azure.com', '*.azure.com']) {
        expect(direct('https://management.azure.com/x', entry), entry).to.equal(true);
        expect(direct('https://azure.com/x', entry), entry).to.equal(true);
        expect(direct('https://notazure.com/x', entry), entry).to.equal(false);
      }
      expect(direct('https://LOGIN.microsoftonline.com', 'login.microsoftonline.com')).to.equal(true);
      expect(direct('https://management.azure.com', 'login.microsoftonline.com')).to.equal(false);
    });

    it('matches a port only when the entry names one (443 for https when the URL names none)', () => {
      expect(direct('https://azure.example:8443', 'azure.example:8443')).to.equal(true);
      expect(direct('https://azure.example:9443', 'azure.example:8443')).to.equal(false);
      expect(direct('https://azure.example', 'azure.example:443')).to.equal(true);
    });

    it('matches IP addresses exactly and by CIDR range, IPv4 and IPv6', () => {
      expect(direct('https://10.1.2.3:443', '10.0.0.0/8')).to.equal(true);
      expect(direct('https://11.1.2.3:443', '10.0.0.0/8')).to.equal(false);
      expect(direct('https://127.0.0.1:8443', '127.0.0.1')).to.equal(true);
      expect(direct('https://127.0.0.2:8443', '127.0.0.1')).to.equal(false);
      expect(direct('https://[::1]:8443', '::1')).to.equal(true);
      expect(direct('https://[fd00::5]:8443', 'fd00::/8')).to.equal(true);
      expect(direct('https://[fe80::5]:8443', 'fd00::/8')).to.equal(false);
      expect(direct('https://management.azure.com', '10.0.0.0/8')).to.equal(false);
    });
  });
});
