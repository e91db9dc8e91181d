// Behind proxy.js (matcher /guarded/:path*): the subject is the one the proxy admitted.
export function GET(request) {
  return Response.json({ subject: request.headers.get('x-client-subject') });
}
