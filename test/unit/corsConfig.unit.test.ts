import { ConfigError, loadConfig } from '../../src/config';

describe('OKR_CORS_ORIGINS', () => {
  it('is empty by default', () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
  });

  it('reads comma-separated origins', () => {
    expect(loadConfig({ OKR_CORS_ORIGINS: 'https://okr.example.com, http://localhost:5173,http://[::1]:3000' }).corsOrigins).toEqual([
      'https://okr.example.com',
      'http://localhost:5173',
      'http://[::1]:3000',
    ]);
  });

  // Origins are compared as strings with the browser's Origin header: anything a browser would not send
  // could never match, so it is refused at start with the form to write instead.
  it.each([
    ['http://localhost:5173/', /write "http:\/\/localhost:5173\/" as http:\/\/localhost:5173,/],
    ['https://okr.example.com/app', /as https:\/\/okr.example.com,/],
    ['HTTPS://OKR.example.com', /as https:\/\/okr.example.com,/],
    ['https://okr.example.com:443', /as https:\/\/okr.example.com,/],
    ['*', /http\(s\) origins/],
    ['null', /http\(s\) origins/],
    ['okr.example.com', /http\(s\) origins/],
    ['ftp://files.example.com', /http\(s\) origins/],
  ])('refuses %s with a clear message', (value, message) => {
    expect(() => loadConfig({ OKR_CORS_ORIGINS: value })).toThrow(ConfigError);
    expect(() => loadConfig({ OKR_CORS_ORIGINS: value })).toThrow(message);
  });
});
