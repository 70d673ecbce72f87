import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP server that answers like GitHub's REST API for what the Action calls: issue
 * comments (paginated with Link headers, 201 on create, 200 on update) with their authors, the
 * token's user (GET /user: 403 for an installation token such as GITHUB_TOKEN, whose comments are
 * github-actions[bot]'s), issues with their authors (listed open, created, updated), the
 * repository (its default branch), a pull request's head, a fork mode where writes get 403 like a
 * read-only token, and creates whose answer is lost (made, then the connection dropped). It
 * records every request.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  body: unknown;
}

export interface StoredComment {
  id: number;
  issue: number;
  body: string;
  author: string;
}

export interface StoredIssue {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  /** Who opened it; the token's identity when the Action did. */
  author: string;
}

export interface FakeGitHub {
  url: string;
  requests: RecordedRequest[];
  comments: StoredComment[];
  issues: StoredIssue[];
  /** Writes answer 403 "Resource not accessible by integration" (a fork pull request's token). */
  readOnly: boolean;
  /** The next this-many requests answer 502 (a transient error). */
  failNext: number;
  /** The next this-many creates (POST of a comment or an issue) are made, then their answer is lost. */
  loseCreateAnswers: number;
  /** What GET /repos/{owner}/{repo} says is the default branch; null: that call answers 403. */
  defaultBranch: string | null;
  pullHeads: Map<number, string>;
  /** The token's user (a personal access token); null: an installation token (the default). */
  tokenLogin: string | null;
  /** Comments by someone else (a human by default), e.g. discussion before the sticky comment. */
  seedComments(issue: number, bodies: string[], author?: string): void;
  close(): Promise<void>;
}

export async function startFakeGitHub(owner: string, repo: string): Promise<FakeGitHub> {
  let nextId = 9000;
  const state = {
    requests: [] as RecordedRequest[],
    comments: [] as StoredComment[],
    issues: [] as StoredIssue[],
    readOnly: false,
    failNext: 0,
    loseCreateAnswers: 0,
    defaultBranch: 'main' as string | null,
    pullHeads: new Map<number, string>(),
    tokenLogin: null as string | null,
  };
  const prefix = `/repos/${owner}/${repo}`;
  let baseUrl = '';

  const commentJson = (c: StoredComment) => ({
    id: c.id,
    node_id: `IC_${c.id}`,
    url: `${baseUrl}${prefix}/issues/comments/${c.id}`,
    html_url: `https://github.test/${owner}/${repo}/pull/${c.issue}#issuecomment-${c.id}`,
    issue_url: `${baseUrl}${prefix}/issues/${c.issue}`,
    body: c.body,
    user: {
      login: c.author,
      id: c.author === 'github-actions[bot]' ? 41898282 : 1000 + c.author.length,
      type: c.author.endsWith('[bot]') ? 'Bot' : 'User',
    },
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    author_association: 'NONE',
  });

  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const body: unknown = raw ? JSON.parse(raw) : undefined;
      state.requests.push({
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        authorization: req.headers.authorization,
        body,
      });
      const send = (status: number, data: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
        res.end(JSON.stringify(data));
      };
      /** A create made but answered with a dropped connection: the client cannot tell it happened. */
      const created = (data: unknown) => {
        if (state.loseCreateAnswers > 0) {
          state.loseCreateAnswers -= 1;
          res.destroy();
          return;
        }
        send(201, data);
      };
      if (state.failNext > 0) {
        state.failNext -= 1;
        send(502, { message: 'Server Error' });
        return;
      }
      const list = new RegExp(`^${prefix}/issues/(\\d+)/comments$`).exec(url.pathname);
      const one = new RegExp(`^${prefix}/issues/comments/(\\d+)$`).exec(url.pathname);
      const pull = new RegExp(`^${prefix}/pulls/(\\d+)$`).exec(url.pathname);
      const issueList = url.pathname === `${prefix}/issues`;
      const issueOne = new RegExp(`^${prefix}/issues/(\\d+)$`).exec(url.pathname);
      const issueJson = (i: StoredIssue) => ({
        number: i.number,
        title: i.title,
        body: i.body,
        state: i.state,
        html_url: `https://github.test/${owner}/${repo}/issues/${i.number}`,
        user: { login: i.author, type: i.author.endsWith('[bot]') ? 'Bot' : 'User' },
      });
      if (url.pathname === '/user' && req.method === 'GET') {
        if (state.tokenLogin === null) {
          return send(403, {
            message: 'Resource not accessible by integration',
            documentation_url: 'https://docs.github.com/rest/users/users#get-the-authenticated-user',
            status: '403',
          });
        }
        return send(200, { login: state.tokenLogin, id: 4242, type: 'User' });
      }
      const forbidden = () =>
        send(403, {
          message: 'Resource not accessible by integration',
          documentation_url: 'https://docs.github.com/rest/issues/comments#create-an-issue-comment',
          status: '403',
        });
      if (list && req.method === 'GET') {
        const issue = Number(list[1]);
        const perPage = Number(url.searchParams.get('per_page') ?? 30);
        const page = Number(url.searchParams.get('page') ?? 1);
        const all = state.comments.filter((c) => c.issue === issue);
        const pages = Math.max(1, Math.ceil(all.length / perPage));
        const link = (p: number) =>
          `<${baseUrl}${prefix}/issues/${issue}/comments?per_page=${perPage}&page=${p}>`;
        const links: string[] = [];
        if (page < pages) links.push(`${link(page + 1)}; rel="next"`, `${link(pages)}; rel="last"`);
        if (page > 1) links.push(`${link(1)}; rel="first"`, `${link(page - 1)}; rel="prev"`);
        send(
          200,
          all.slice((page - 1) * perPage, page * perPage).map(commentJson),
          links.length > 0 ? { link: links.join(', ') } : {},
        );
      } else if (list && req.method === 'POST') {
        if (state.readOnly) return forbidden();
        const comment = {
          id: (nextId += 1),
          issue: Number(list[1]),
          body: String((body as { body?: string }).body),
          author: state.tokenLogin ?? 'github-actions[bot]',
        };
        state.comments.push(comment);
        created(commentJson(comment));
      } else if (one && req.method === 'PATCH') {
        if (state.readOnly) return forbidden();
        const comment = state.comments.find((c) => c.id === Number(one[1]));
        if (!comment) return send(404, { message: 'Not Found' });
        comment.body = String((body as { body?: string }).body);
        send(200, commentJson(comment));
      } else if (issueList && req.method === 'GET') {
        const perPage = Number(url.searchParams.get('per_page') ?? 30);
        const page = Number(url.searchParams.get('page') ?? 1);
        const open = state.issues.filter((i) => i.state === (url.searchParams.get('state') ?? 'open'));
        const more = page * perPage < open.length;
        send(
          200,
          open.slice((page - 1) * perPage, page * perPage).map(issueJson),
          more ? { link: `<${baseUrl}${prefix}/issues?page=${page + 1}>; rel="next"` } : {},
        );
      } else if (issueList && req.method === 'POST') {
        if (state.readOnly) return forbidden();
        const { title, body: text } = body as { title: string; body: string };
        const issue: StoredIssue = {
          number: (nextId += 1),
          title,
          body: text,
          state: 'open',
          author: state.tokenLogin ?? 'github-actions[bot]',
        };
        state.issues.push(issue);
        created(issueJson(issue));
      } else if (issueOne && req.method === 'PATCH') {
        if (state.readOnly) return forbidden();
        const issue = state.issues.find((i) => i.number === Number(issueOne[1]));
        if (!issue) return send(404, { message: 'Not Found' });
        Object.assign(issue, body as Partial<StoredIssue>);
        send(200, issueJson(issue));
      } else if (url.pathname === prefix && req.method === 'GET') {
        if (state.defaultBranch === null) return forbidden();
        send(200, { full_name: `${owner}/${repo}`, default_branch: state.defaultBranch });
      } else if (pull && req.method === 'GET') {
        const head = state.pullHeads.get(Number(pull[1]));
        if (!head) return send(404, { message: 'Not Found' });
        send(200, { number: Number(pull[1]), state: 'open', head: { sha: head, ref: 'feature' } });
      } else {
        send(404, { message: 'Not Found' });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: baseUrl,
    get requests() {
      return state.requests;
    },
    get comments() {
      return state.comments;
    },
    get issues() {
      return state.issues;
    },
    get readOnly() {
      return state.readOnly;
    },
    set readOnly(value: boolean) {
      state.readOnly = value;
    },
    get failNext() {
      return state.failNext;
    },
    set failNext(value: number) {
      state.failNext = value;
    },
    get loseCreateAnswers() {
      return state.loseCreateAnswers;
    },
    set loseCreateAnswers(value: number) {
      state.loseCreateAnswers = value;
    },
    get defaultBranch() {
      return state.defaultBranch;
    },
    set defaultBranch(value: string | null) {
      state.defaultBranch = value;
    },
    pullHeads: state.pullHeads,
    get tokenLogin() {
      return state.tokenLogin;
    },
    set tokenLogin(value: string | null) {
      state.tokenLogin = value;
    },
    seedComments(issue, bodies, author = 'octocat') {
      for (const b of bodies) state.comments.push({ id: (nextId += 1), issue, body: b, author });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
